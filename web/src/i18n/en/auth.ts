import type ru from "../ru/auth";

export default {
} satisfies Record<keyof typeof ru, string>;
