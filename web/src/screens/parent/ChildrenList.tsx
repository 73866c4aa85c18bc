import { t } from "../../i18n";
import { Avatar, Empty, ErrorText, Spinner } from "../../ui";
import { personName } from "../safety/names";
import { safeModeText, schoolsText, useChildren } from "./children";

export function ChildrenList() {
  const { children, error } = useChildren();
  return (
    <div class="page page--narrow parent">
      <h1>{t("parent.title")}</h1>
      {children === null ? (
        error ? <ErrorText error={error} /> : <Spinner />
      ) : children.length === 0 ? (
        <Empty>{t("parent.empty")}</Empty>
      ) : (
        <ul class="parent__children">
          {children.map((child) => {
            const name = personName(child.user);
            return (
              <li key={child.user.id}>
                <a class="card parent__child" href={`/children/${child.user.id}`}>
                  <Avatar name={name} fileId={child.user.avatar_file_id} size={48} />
                  <span class="parent__child-text">
                    <strong>{name}</strong>
                    {child.schools.length > 0 && <span class="muted">{schoolsText(child)}</span>}
                    <span class={child.safe_mode.on ? "parent__safe parent__safe--on" : "parent__safe"}>{safeModeText(child.safe_mode)}</span>
                  </span>
                </a>
              </li>
            );
          })}
        </ul>
      )}
      <p class="muted parent__help">
        <a href="/help/safety">{t("parent.help_link")}</a>
      </p>
    </div>
  );
}
