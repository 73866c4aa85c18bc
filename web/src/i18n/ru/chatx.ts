// Texts of the chatx screens.
export default {
} satisfies Record<string, string>;
