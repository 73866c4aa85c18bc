// Names for the server's shapes, generated from its OpenAPI document
// (web/openapi.json → schema.gen.ts by `npm run gen:api`; `make openapi` refreshes
// openapi.json from the server, and tests/test_web_contract.py fails when it is stale).
import type { Schemas } from "./client";

export type Me = Schemas["MeOut"];
export type UserPublic = Schemas["UserPublic"];
export type Chat = Schemas["ChatOut"];
export type ChatList = Schemas["ChatList"];
export type Message = Schemas["MessageOut"];
export type MessagePage = Schemas["MessagePage"];
export type SyncOut = Schemas["SyncOut"];
export type ServerEvent = Schemas["EventOut"];
export type FileInfo = Schemas["FileInfo"];
export type Org = Schemas["OrgOut"];
export type SessionInfo = Schemas["SessionOut"];
