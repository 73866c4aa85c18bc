// The message box: Enter sends, Shift+Enter starts a new line; reply-to and edit modes;
// @mentions through the MentionPicker; a file through the AttachButton. Sending goes
// through the outbox, so a message typed offline is kept and sent later; the draft of
// each chat survives switching chats.
import { useEffect, useRef, useState } from "preact/hooks";
import { api } from "../../api/client";
import type { Chat, Message } from "../../api/types";
import { t } from "../../i18n";
import { sendTyping } from "../../net/ws";
import { outbox } from "../../store/outbox";
import { ErrorText } from "../../ui";
import { AttachButton, MentionPicker, TypingIndicator, type PickedFile } from "./extras";
import { previewText } from "./format";

const drafts = new Map<number, string>();

/** The "@word" being typed at the caret, without the "@" (null when none). */
export function mentionQuery(text: string, caret: number): string | null {
  const match = /(^|\s)@([^\s@]*)$/.exec(text.slice(0, caret));
  return match ? (match[2] ?? "") : null;
}

/** Ids of picked people whose "@Name" is still in the text. */
export function mentionIds(text: string, picked: { id: number; name: string }[]): number[] {
  return [...new Set(picked.filter((person) => text.includes(`@${person.name}`)).map((person) => person.id))];
}

type Props = {
  chat: Chat;
  reply: Message | null;
  editing: Message | null;
  onDone: () => void;
};

export function Composer({ chat, reply, editing, onDone }: Props) {
  const [text, setText] = useState(() => drafts.get(chat.id) ?? "");
  const [caret, setCaret] = useState(0);
  const [file, setFile] = useState<PickedFile | null>(null);
  const [picked, setPicked] = useState<{ id: number; name: string }[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const input = useRef<HTMLTextAreaElement>(null);

  useEffect(() => {
    if (editing) setText(editing.text ?? "");
    if (editing || reply) input.current?.focus();
  }, [editing, reply]);

  const change = (value: string, position: number) => {
    setText(value);
    setCaret(position);
    if (!editing) drafts.set(chat.id, value);
    if (value) sendTyping(chat.id);
  };

  const finish = () => {
    setText("");
    setFile(null);
    setPicked([]);
    setError(null);
    drafts.delete(chat.id);
    onDone();
  };

  const submit = async () => {
    const body = text.trim();
    if (busy || (!body && !file)) return;
    if (editing) {
      setBusy(true);
      setError(null);
      try {
        await api("PATCH", `/chats/${chat.id}/messages/${editing.id}`, { text: body });
        finish();
      } catch (err) {
        setError(err); // the text stays in the box
      } finally {
        setBusy(false);
      }
      return;
    }
    void outbox.add({
      chat_id: chat.id,
      text: body,
      reply_to: reply?.id ?? null,
      file_id: file?.fileId ?? null,
      file_name: file?.name ?? null,
      mention_ids: mentionIds(body, picked),
    });
    finish();
    input.current?.focus();
  };

  const onKeyDown = (event: KeyboardEvent) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      void submit();
    } else if (event.key === "Escape" && (editing || reply)) {
      event.preventDefault();
      if (editing) setText(drafts.get(chat.id) ?? "");
      onDone();
    }
  };

  const pick = (person: { id: number; name: string }) => {
    const before = text.slice(0, caret).replace(/@([^\s@]*)$/, `@${person.name} `);
    const value = before + text.slice(caret);
    setPicked((list) => [...list, person]);
    change(value, before.length);
    requestAnimationFrame(() => input.current?.setSelectionRange(before.length, before.length));
    input.current?.focus();
  };

  const context = editing ?? reply;
  return (
    <div class="composer">
      <TypingIndicator chatId={chat.id} />
      {context && (
        <div class="composer__context">
          <span class="composer__context-label">{editing ? t("chats.editing") : t("chats.replying")}</span>
          <span class="composer__context-text">{previewText(context)}</span>
          <button
            type="button"
            class="icon-btn"
            aria-label={t("chats.cancel_context")}
            onClick={() => {
              if (editing) setText(drafts.get(chat.id) ?? "");
              onDone();
            }}
          >
            ×
          </button>
        </div>
      )}
      {file && (
        <div class="composer__context">
          <span class="composer__context-text">📎 {file.name}</span>
          <button type="button" class="icon-btn" aria-label={t("chats.remove_file")} onClick={() => setFile(null)}>
            ×
          </button>
        </div>
      )}
      <MentionPicker chatId={chat.id} query={mentionQuery(text, caret)} onPick={pick} />
      <ErrorText error={error} />
      <form
        class="composer__row"
        onSubmit={(event) => {
          event.preventDefault();
          void submit();
        }}
      >
        {!editing && <AttachButton chatId={chat.id} onUploaded={setFile} disabled={busy} />}
        <label class="visually-hidden" for={`composer-${chat.id}`}>
          {t("chats.message")}
        </label>
        <textarea
          id={`composer-${chat.id}`}
          ref={input}
          class="composer__input"
          rows={1}
          placeholder={t("chats.message_placeholder")}
          value={text}
          onInput={(event) => change(event.currentTarget.value, event.currentTarget.selectionStart ?? event.currentTarget.value.length)}
          onKeyUp={(event) => setCaret(event.currentTarget.selectionStart ?? 0)}
          onClick={(event) => setCaret(event.currentTarget.selectionStart ?? 0)}
          onKeyDown={onKeyDown}
        />
        <button type="submit" class="btn btn--primary composer__send" disabled={busy || (!text.trim() && !file)} aria-label={editing ? t("common.save") : t("chats.send")}>
          {editing ? "✓" : "➤"}
        </button>
      </form>
    </div>
  );
}
