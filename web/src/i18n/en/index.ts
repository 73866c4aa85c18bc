import type { Dict } from "../ru";
import auth from "./auth";
import chats from "./chats";
import chatx from "./chatx";
import common from "./common";
import org from "./org";
import parent from "./parent";
import safety from "./safety";

const en: Dict = { ...common, ...auth, ...chats, ...chatx, ...org, ...parent, ...safety };
export default en;
