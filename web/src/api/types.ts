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
// Sign-in, settings and the organization cabinet.
export type CodeSent = Schemas["CodeSent"];
export type TokenOut = Schemas["TokenOut"];
export type SafeModeOut = Schemas["SafeModeOut"];
export type SessionList = Schemas["SessionList"];
export type OrgList = Schemas["OrgList"];
export type OrgIn = Schemas["OrgIn"];
export type OrgPatch = Schemas["OrgPatch"];
export type OrgRole = Schemas["OrgRole"];
export type OrgKind = Schemas["OrgKind"];
export type OrgDirectory = Schemas["Directory"];
export type OrgDirectoryCard = Schemas["parta__api__orgs__OrgCard"];
export type OrgMember = Schemas["parta__api__org_members__MemberOut"];
export type OrgMemberList = Schemas["parta__api__org_members__MemberList"];
export type ClassGroup = Schemas["ClassOut"];
export type ClassGroupList = Schemas["ClassList"];
export type OrgInvite = Schemas["OrgInviteOut"];
export type OrgInviteCreated = Schemas["OrgInviteCreated"];
export type OrgInviteList = Schemas["OrgInviteList"];
export type OrgInvitePreview = Schemas["OrgInvitePreviewOut"];
export type OrgJoined = Schemas["JoinedOut"];
export type JoinRequest = Schemas["JoinRequestOut"];
export type JoinRequestList = Schemas["JoinRequestList"];
export type JoinRequestWrapped = Schemas["JoinRequestWrapped"];
export type AuditEntry = Schemas["AuditOut"];
export type AuditList = Schemas["AuditList"];
export type ParentLink = Schemas["LinkOut"];
export type ChatMember = Schemas["parta__api__schemas__MemberOut"];
export type ReactionSet = Schemas["ReactionSet"];
export type ChatInvite = Schemas["InviteOut"];
export type ChatInviteCreated = Schemas["InviteCreated"];
export type ChatInvitePreview = Schemas["InvitePreviewOut"];
