import auth from "./auth";
import chats from "./chats";
import chatx from "./chatx";
import common from "./common";
import org from "./org";
import parent from "./parent";
import safety from "./safety";

const ru = { ...common, ...auth, ...chats, ...chatx, ...org, ...parent, ...safety };
export type Dict = typeof ru;
export default ru;
