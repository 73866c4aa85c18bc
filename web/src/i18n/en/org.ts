import type ru from "../ru/org";

export default {
} satisfies Record<keyof typeof ru, string>;
