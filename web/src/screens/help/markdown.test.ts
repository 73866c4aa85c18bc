import { describe, expect, it } from "vitest";
import { renderMarkdown, safeHref, slugify } from "./markdown";

const PAGES = { faq: "faq", safety: "safety", "admin-guide": "admin" };

function dom(html: string): HTMLElement {
  const root = document.createElement("div");
  root.innerHTML = html;
  return root;
}

describe("renderMarkdown", () => {
  it("renders headings with anchors and collects the contents", () => {
    const result = renderMarkdown("# Справка\n\n## Вход в Парту\n\nТекст.\n\n## Вход в Парту\n");
    expect(result.title).toBe("Справка");
    expect(result.headings.map((h) => h.id)).toEqual(["справка", "вход-в-парту", "вход-в-парту-1"]);
    const root = dom(result.html);
    expect(root.querySelector("h2")?.id).toBe("вход-в-парту");
    expect(root.querySelectorAll("h2")).toHaveLength(2);
    // The title is shown by the screen above the contents, not inside the text.
    expect(root.querySelector("h1")).toBeNull();
  });

  it("never lets raw HTML through", () => {
    const source = [
      "# T",
      "",
      "<script>alert(1)</script>",
      "",
      'Текст <img src=x onerror="alert(2)"> и <b>жирный</b>.',
      "",
      "<div onclick=\"alert(3)\">блок</div>",
    ].join("\n");
    const root = dom(renderMarkdown(source).html);
    expect(root.querySelector("script")).toBeNull();
    expect(root.querySelector("img")).toBeNull();
    expect(root.querySelector("b")).toBeNull();
    expect(root.querySelector("div")).toBeNull();
    expect(root.querySelector("[onerror],[onclick]")).toBeNull();
    // Shown as text instead, so nothing the author wrote disappears.
    expect(root.textContent).toContain("<script>alert(1)</script>");
    expect(root.textContent).toContain("<b>жирный</b>");
  });

  it("drops dangerous links and images but keeps their text", () => {
    const source = "[плохо](javascript:alert(1)) [данные](data:text/html,x) ![картинка](http://example.org/a.png)";
    const root = dom(renderMarkdown(source).html);
    expect(root.querySelector("a")).toBeNull();
    expect(root.querySelector("img")).toBeNull();
    expect(root.textContent).toContain("плохо");
    expect(root.textContent).toContain("картинка");
  });

  it("turns links between guides into help routes", () => {
    const root = dom(renderMarkdown("[FAQ](faq.md#вход) [безопасность](../ru/safety.md) [сайт](https://example.org)", PAGES).html);
    const links = [...root.querySelectorAll("a")].map((a) => a.getAttribute("href"));
    expect(links).toEqual(["/help/faq#вход", "/help/safety", "https://example.org"]);
    expect(root.querySelector('a[href="https://example.org"]')?.getAttribute("rel")).toContain("noopener");
  });

  it("escapes heading text in the contents list", () => {
    const result = renderMarkdown("## Кто <видит> & «что»");
    expect(result.headings[0]?.text).toBe("Кто <видит> & «что»");
  });
});

describe("helpers", () => {
  it("slugify keeps letters of any script", () => {
    expect(slugify("Что видит посторонний?")).toBe("что-видит-посторонний");
    expect(slugify("!!!")).toBe("section");
  });

  it("safeHref refuses unknown schemes and pages", () => {
    expect(safeHref("javascript:alert(1)", PAGES)).toBeNull();
    expect(safeHref("unknown.md", PAGES)).toBeNull();
    expect(safeHref("#x", PAGES)).toBe("#x");
    expect(safeHref("mailto:a@example.org", PAGES)).toBe("mailto:a@example.org");
  });
});
