// Help: the Russian guides from docs/ru, bundled at build time (`?raw`) and rendered
// here. Each guide is its own small chunk, so opening the FAQ on a weak phone does
// not download the admin guide too.
import { useEffect, useState } from "preact/hooks";
import { useRoute } from "preact-iso";
import { t, type TextKey } from "../../i18n";
import { Spinner } from "../../ui";
import { renderMarkdown, type Heading, type Rendered } from "./markdown";
import "./help.css";

type Page = { slug: string; file: string; title: TextKey; summary: TextKey; load: () => Promise<{ default: string }> };

export const PAGES: Page[] = [
  { slug: "faq", file: "faq", title: "help.faq", summary: "help.faq_summary", load: () => import("../../../../docs/ru/faq.md?raw") },
  { slug: "guide", file: "guide", title: "help.guide", summary: "help.guide_summary", load: () => import("../../../../docs/ru/guide.md?raw") },
  { slug: "safety", file: "safety", title: "help.safety", summary: "help.safety_summary", load: () => import("../../../../docs/ru/safety.md?raw") },
  { slug: "admin", file: "admin-guide", title: "help.admin", summary: "help.admin_summary", load: () => import("../../../../docs/ru/admin-guide.md?raw") },
  {
    slug: "migration",
    file: "migration-guide",
    title: "help.migration",
    summary: "help.migration_summary",
    load: () => import("../../../../docs/ru/migration-guide.md?raw"),
  },
];

// Links between the guides ("safety.md") become help routes.
const LINKS: Record<string, string> = Object.fromEntries(PAGES.map((page) => [page.file, page.slug]));

function HelpIndex() {
  return (
    <div class="page page--narrow help">
      <h1>{t("help.title")}</h1>
      <p class="muted">{t("help.intro")}</p>
      <ul class="help__pages">
        {PAGES.map((page) => (
          <li key={page.slug}>
            <a class="card help__page-link" href={`/help/${page.slug}`}>
              <strong>{t(page.title)}</strong>
              <span class="muted">{t(page.summary)}</span>
            </a>
          </li>
        ))}
      </ul>
    </div>
  );
}

function useGuide(page: Page | undefined): Rendered | null | "error" {
  const [state, setState] = useState<Rendered | null | "error">(null);
  useEffect(() => {
    let live = true;
    setState(null);
    page
      ?.load()
      .then((module) => live && setState(renderMarkdown(module.default, LINKS)))
      .catch(() => live && setState("error"));
    return () => {
      live = false;
    };
  }, [page]);
  return state;
}

type Section = { heading: Heading; subsections: Heading[] };

/** h2 sections with their h3 subsections, for a nested contents list. */
function sections(headings: Heading[]): Section[] {
  const result: Section[] = [];
  for (const heading of headings) {
    if (heading.depth === 2) result.push({ heading, subsections: [] });
    else if (heading.depth === 3) result[result.length - 1]?.subsections.push(heading);
  }
  return result;
}

// Open on wide screens; on a phone a long list would push the text a screen down.
const WIDE = typeof matchMedia === "function" && matchMedia("(min-width: 721px)").matches;

function Contents({ guide }: { guide: Rendered }) {
  const list = sections(guide.headings);
  if (list.length < 3) return null;
  return (
    <nav class="help__toc card" aria-labelledby="help-toc">
      <details open={WIDE}>
        <summary>
          <h2 id="help-toc">{t("help.contents")}</h2>
        </summary>
        <ol>
          {list.map(({ heading, subsections }) => (
            <li key={heading.id}>
              <a href={`#${heading.id}`}>{heading.text}</a>
              {subsections.length > 0 && (
                <ul>
                  {subsections.map((sub) => (
                    <li key={sub.id}>
                      <a href={`#${sub.id}`}>{sub.text}</a>
                    </li>
                  ))}
                </ul>
              )}
            </li>
          ))}
        </ol>
      </details>
    </nav>
  );
}

function Guide({ page }: { page: Page }) {
  const guide = useGuide(page);
  useEffect(() => {
    // A link from another page may carry an anchor: scroll there once the text is in.
    if (guide && guide !== "error" && location.hash) {
      document.getElementById(decodeURIComponent(location.hash.slice(1)))?.scrollIntoView();
    }
  }, [guide]);
  if (guide === null) return <Spinner />;
  if (guide === "error") return <p class="error">{t("help.load_error")}</p>;
  return (
    <article class="help__article">
      <h1>{guide.title || t(page.title)}</h1>
      <Contents guide={guide} />
      {/* Safe: renderMarkdown escapes raw HTML and filters links (see markdown.ts). */}
      <div class="help__body" dangerouslySetInnerHTML={{ __html: guide.html }} />
    </article>
  );
}

export default function Help() {
  const { params } = useRoute();
  const slug = params.page;
  if (!slug) return <HelpIndex />;
  const page = PAGES.find((item) => item.slug === slug);
  return (
    <div class="page page--narrow help">
      <a class="help__back" href="/help">
        ← {t("help.all")}
      </a>
      {page ? <Guide page={page} /> : <p class="empty">{t("help.not_found")}</p>}
    </div>
  );
}
