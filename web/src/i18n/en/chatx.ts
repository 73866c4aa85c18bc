import type ru from "../ru/chatx";

export default {
} satisfies Record<keyof typeof ru, string>;
