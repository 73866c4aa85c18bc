// Texts of the chats screens.
export default {
} satisfies Record<string, string>;
