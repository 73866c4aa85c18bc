import type ru from "../ru/chats";

export default {
} satisfies Record<keyof typeof ru, string>;
