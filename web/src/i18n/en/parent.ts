import type ru from "../ru/parent";

export default {
} satisfies Record<keyof typeof ru, string>;
