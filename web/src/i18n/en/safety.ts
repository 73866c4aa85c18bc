import type ru from "../ru/safety";

export default {
} satisfies Record<keyof typeof ru, string>;
