// /org-join/:token — an organization's invite link: what it is, and "Вступить".
// 201 made a member, 200 was one already, 202 sent a join request (approval links).
import { useState } from "preact/hooks";
import { useRoute } from "preact-iso";
import { api } from "../../api/client";
import type { OrgInvitePreview, OrgJoined, JoinRequestWrapped } from "../../api/types";
import { t } from "../../i18n";
import { Avatar, Button, ErrorText, Spinner } from "../../ui";
import { kindLabel, roleLabel, useLoad } from "./common";
import "./org.css";

type Result = { kind: "member"; joined: OrgJoined } | { kind: "request" };

function Outcome({ result, preview }: { result: Result; preview: OrgInvitePreview }) {
  if (result.kind === "request") {
    return <p role="status">{t("org.join.requested", { name: preview.org.short_name })}</p>;
  }
  const { joined } = result;
  return (
    <div class="stack" role="status">
      <p>
        {t("org.join.joined", { name: preview.org.short_name, role: roleLabel(joined.role) })}
        {preview.class_name ? ` ${t("org.join.in_class", { name: preview.class_name })}` : ""}
      </p>
      {joined.notice && <p>{joined.notice}</p>}
      {joined.role === "parent" && <p class="muted">{t("org.join.parent_note")}</p>}
      <div class="row">
        <a class="btn btn--primary org-linkbtn" href="/">
          {t("org.join.to_chats")}
        </a>
        <a class="btn btn--secondary org-linkbtn" href={`/orgs/${preview.org.id}`}>
          {t("org.join.to_org")}
        </a>
      </div>
    </div>
  );
}

export default function OrgJoin() {
  const { params } = useRoute();
  const token = params.token ?? "";
  const preview = useLoad(() => api<OrgInvitePreview>("GET", `/org-invites/${encodeURIComponent(token)}`), token);
  const [result, setResult] = useState<Result | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  async function join() {
    setBusy(true);
    setError(null);
    try {
      const body = await api<OrgJoined | JoinRequestWrapped>("POST", `/org-invites/${encodeURIComponent(token)}/join`);
      setResult("join_request" in body ? { kind: "request" } : { kind: "member", joined: body });
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  const data = preview.data;
  return (
    <div class="page">
      <div class="page--narrow card stack">
        {preview.error ? <ErrorText error={preview.error} /> : null}
        {!data && !preview.error && <Spinner />}
        {data && (
          <>
            <header class="org-head">
              <Avatar name={data.org.short_name} fileId={data.org.logo_file_id} size={56} />
              <div>
                <h1>{data.org.short_name}</h1>
                <p class="muted">
                  {kindLabel(data.org.kind)} {data.org.is_verified && <span class="badge org-verified">{t("org.verified")}</span>}
                </p>
              </div>
            </header>
            <p>{data.org.full_name}</p>
            <p>
              {t("org.join.invites_as", { role: roleLabel(data.role) })}
              {data.class_name ? ` ${t("org.join.in_class", { name: data.class_name })}` : ""}
            </p>
            {data.requires_approval && <p class="muted">{t("org.join.approval_note")}</p>}
            {data.role === "parent" && !result && <p class="muted">{t("org.join.parent_note")}</p>}
            {result ? (
              <Outcome result={result} preview={data} />
            ) : data.is_member ? (
              <p>
                {t("org.join.already")} <a href={`/orgs/${data.org.id}`}>{t("org.join.to_org")}</a>
              </p>
            ) : data.state !== "active" ? (
              <p class="error">{t("org.join.inactive")}</p>
            ) : (
              <Button variant="primary" busy={busy} onClick={() => void join()}>
                {t("org.join.submit")}
              </Button>
            )}
            <ErrorText error={error} />
          </>
        )}
      </div>
    </div>
  );
}
