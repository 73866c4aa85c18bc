// Texts of the safety screens.
export default {
} satisfies Record<string, string>;
