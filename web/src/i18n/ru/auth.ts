// Texts of the auth screens.
export default {
} satisfies Record<string, string>;
