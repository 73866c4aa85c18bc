// Markdown → HTML for the help pages. The pages are our own files, but the renderer
// still treats them as untrusted: raw HTML is shown as text, links may only be
// http(s), mailto, in-page anchors or other help pages, and images are not loaded
// (help must not fetch anything from elsewhere).
import { Marked, type Tokens } from "marked";

export type Heading = { depth: number; text: string; id: string };
export type Rendered = { html: string; headings: Heading[]; title: string };

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ESCAPES[char] ?? char);
}

/** A stable anchor for a heading: lower case, Cyrillic kept, spaces to dashes. */
export function slugify(text: string): string {
  const slug = text
    .toLowerCase()
    .replace(/<[^>]*>/g, "")
    .replace(/&[a-z#0-9]+;/g, "")
    .replace(/[^\p{L}\p{N}\s-]/gu, "")
    .trim()
    .replace(/\s+/g, "-");
  return slug || "section";
}

/**
 * Where a link in a guide may point. Links to the other guides (`safety.md`,
 * `ru/faq.md#...`) become help routes; anything unknown or dangerous becomes
 * plain text (null).
 */
export function safeHref(href: string, pages: Record<string, string>): string | null {
  const value = href.trim();
  if (value.startsWith("#")) return value;
  if (/^(https?:|mailto:)/i.test(value)) return value;
  const match = /^(?:\.\.?\/)*(?:ru\/)?([\w-]+)\.md(#.*)?$/.exec(value);
  if (match) {
    const page = pages[match[1] ?? ""];
    if (page) return `/help/${page}${match[2] ?? ""}`;
  }
  return null;
}

/** Renders one guide. `pages` maps a markdown file's base name to its help route. */
export function renderMarkdown(source: string, pages: Record<string, string> = {}): Rendered {
  const headings: Heading[] = [];
  const used = new Map<string, number>();
  const marked = new Marked({ gfm: true, async: false });
  marked.use({
    renderer: {
      // Raw HTML in the source is shown as text, never interpreted.
      html({ text }: Tokens.HTML | Tokens.Tag) {
        return escapeHtml(text);
      },
      heading({ tokens, depth }: Tokens.Heading) {
        const inner = this.parser.parseInline(tokens);
        const plain = this.parser.parseInline(tokens, this.parser.textRenderer);
        const base = slugify(plain);
        const seen = used.get(base) ?? 0;
        used.set(base, seen + 1);
        const id = seen ? `${base}-${seen}` : base;
        headings.push({ depth, text: plain, id });
        // The page title is rendered by the screen itself, above the contents list,
        // so headings stay in order (h1, then the contents' h2, then the sections).
        if (depth === 1 && headings.filter((heading) => heading.depth === 1).length === 1) return "";
        return `<h${depth} id="${escapeHtml(id)}">${inner}</h${depth}>\n`;
      },
      link({ href, title, tokens }: Tokens.Link) {
        const inner = this.parser.parseInline(tokens);
        const target = safeHref(href, pages);
        if (target === null) return inner;
        const external = /^https?:/i.test(target) ? ' rel="noopener noreferrer" target="_blank"' : "";
        const titleAttr = title ? ` title="${escapeHtml(title)}"` : "";
        return `<a href="${escapeHtml(target)}"${titleAttr}${external}>${inner}</a>`;
      },
      image({ text }: Tokens.Image) {
        return escapeHtml(text);
      },
    },
  });
  const html = marked.parse(source, { async: false });
  const title = headings.find((heading) => heading.depth === 1)?.text ?? "";
  return { html, headings, title };
}
