// Texts of the parent screens.
export default {
} satisfies Record<string, string>;
