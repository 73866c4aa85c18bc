// Texts of the org screens.
export default {
} satisfies Record<string, string>;
