// Safety actions usable from any message or profile, built by the "parent and safety"
// work. Their props are the contract; keep the signatures.

/** Report a message or a person to the school's admins (reason, comment). */
export function ReportDialog(_props: { messageId?: number; userId?: number; onClose: () => void }) {
  return null;
}

/** Block / unblock a person (with a confirmation explaining what blocking does). */
export function BlockToggle(_props: { userId: number; onChanged?: (blocked: boolean) => void }) {
  return null;
}
