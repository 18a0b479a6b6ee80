"""The report's document writer and the formatting of its cells: Doc collects headings, paragraphs,
tables, figures, lists and preformatted text, and renders them as Markdown and as HTML; cell,
geo_cell and signed format a table cell (exec_cell and exec_number in significant digits, for the
metrics of an exec program, whose scale is the program's), slug a file or anchor name."""
import html
import math

import numpy as np

from stats import geo_mean_se, mean_se


# ---- cells ----------------------------------------------------------------------------------------

def cell(values, expected, digits=4):
    """"mean ± SE (n=k)", with "of N" when seeds are missing; "missing" when none counts."""
    m, se, n = mean_se(values)
    if n == 0:
        return "missing"
    text = f"{m:.{digits}f}" + (f" ± {se:.{digits}f}" if n > 1 else "")
    return text + (f" (n={n})" if n == expected else f" (n={n} of {expected})")


def geo_cell(values, expected, fmt=".3g"):
    """"g ×/÷ f (n=k)": the geometric mean and the factor 10^SE of the mean of log10 (docs/method.md
    "Statistics"); "0 in k (underflow)" when the values are zeros (a gradient below float32's range),
    "missing" when there are none."""
    g, se, n = geo_mean_se(values)
    if n == 0:
        zeros = sum(1 for x in values if x == 0)
        return f"0 in {zeros} (underflow)" if zeros else "missing"
    f = 10 ** se
    text = format(g, fmt) + ((f" ×/÷ {f:.3g}" if f >= 1.01 else f" ×/÷ {f:.4f}") if n > 1 else "")
    return text + (f" (n={n})" if n == expected else f" (n={n} of {expected})")


def signed(x, digits=2):
    return f"{x:+.{digits}f}" if np.isfinite(x) else "n/a"


def exec_cell(values, expected):
    """A cell of a metric of any scale (an exec program's): "mean ± SE (n=k)" (exec_number), with "of N"
    when seeds are missing; "missing" when none counts."""
    m, se, n = mean_se(values)
    if n == 0:
        return "missing"
    text = exec_number(m, se)
    return text + (f" (n={n})" if n == expected else f" (n={n} of {expected})")


def exec_number(x, se=math.nan, sign=False, digits=4, scale=0.0):
    """x, and " ± se" where se is finite, to DIGITS significant digits of the largest of the two and SCALE
    (say, the mean of an interval's bounds), both with the same decimals (1e-3 to 1e6; beyond, x in
    scientific notation and se to 2 digits); "n/a" for a missing x. sign: "+" before a positive x (a
    difference)."""
    if not np.isfinite(x):
        return "n/a"
    plus = "+" if sign else ""
    mag = max(abs(x), abs(se) if np.isfinite(se) else 0.0, abs(scale))
    if mag == 0 or 1e-3 <= mag < 1e6:
        dec = max(0, digits - 1 - math.floor(math.log10(mag))) if mag else digits - 1
        return f"{x:{plus}.{dec}f}" + (f" ± {se:.{dec}f}" if np.isfinite(se) else "")
    return f"{x:{plus}.{digits - 1}e}" + (f" ± {se:.1e}" if np.isfinite(se) else "")


def slug(text, sep="_"):
    """The text's letters and digits, each other run of characters replaced by one SEP."""
    return sep.join("".join(ch if ch.isalnum() else " " for ch in text).split())


# ---- document -------------------------------------------------------------------------------------

class Doc:
    """Blocks rendered both as Markdown and as HTML. Sections are numbered when the document is
    rendered, in the order they were added, so that a section that a file does not need leaves no gap;
    in HTML every heading carries an id, its title as a slug (made unique with -2, -3, ...)."""

    def __init__(self):
        self.blocks = []

    def section(self, title, *paragraphs):
        """A numbered second-level heading, and the section's opening paragraphs; returns the document."""
        self.blocks.append(("h", 2, title, True))
        for text in paragraphs:
            self.p(text)
        return self

    def h(self, level, text):
        self.blocks.append(("h", level, text, False))

    def p(self, text):
        self.blocks.append(("p", text))

    def table(self, header, rows):
        self.blocks.append(("table", header, rows))

    def img(self, name, caption):
        self.blocks.append(("img", name, caption))

    def pre(self, text):
        self.blocks.append(("pre", text))

    def ul(self, items):
        self.blocks.append(("ul", items))

    def headings(self):
        """(level, text with its section number, slug of the title) of every heading, in order."""
        number, seen = 0, {}
        for b in self.blocks:
            if b[0] == "h":
                number += b[3]
                name = slug(b[2].lower(), "-")
                seen[name] = seen.get(name, 0) + 1
                yield b[1], (f"{number}. " if b[3] else "") + b[2], name + (f"-{seen[name]}" if seen[name] > 1 else "")

    def markdown(self):
        out, heads = [], self.headings()
        for b in self.blocks:
            if b[0] == "h":
                level, text, _ = next(heads)
                out.append("#" * level + " " + text)
            elif b[0] == "p":
                out.append(b[1])
            elif b[0] == "table":
                out.append("| " + " | ".join(b[1]) + " |")
                out.append("|" + "---|" * len(b[1]))
                out += ["| " + " | ".join(str(c) for c in r) + " |" for r in b[2]]
            elif b[0] == "img":
                out.append(f"![{b[2]}]({b[1]})\n\n*{b[2]}*")
            elif b[0] == "ul":
                out += [f"- {item}" for item in b[1]]
            else:
                out.append("```\n" + b[1].rstrip() + "\n```")
            out.append("")
        return "\n".join(out)

    def html(self, title, head="", banner=""):
        """The page; head: more of its <head> (a watched page's refresh), banner: HTML before the first block."""
        e = html.escape
        out = [f"<!DOCTYPE html><html><head><meta charset='utf-8'>{head}<title>{e(title)}</title>",
               "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
               "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;padding:3px 8px;"
               "text-align:right}th{background:#eee}img{max-width:100%}pre{background:#f5f5f5;padding:1em;"
               "overflow-x:auto}figcaption{font-style:italic}</style></head><body>" + banner]
        heads = self.headings()
        for b in self.blocks:
            if b[0] == "h":
                level, text, anchor = next(heads)
                out.append(f"<h{level} id='{e(anchor)}'>{e(text)}</h{level}>")
            elif b[0] == "p":
                out.append(f"<p>{e(b[1])}</p>")
            elif b[0] == "table":
                out.append("<table><tr>" + "".join(f"<th>{e(h)}</th>" for h in b[1]) + "</tr>")
                out += ["<tr>" + "".join(f"<td>{e(str(c))}</td>" for c in r) + "</tr>" for r in b[2]]
                out.append("</table>")
            elif b[0] == "ul":
                out.append("<ul>" + "".join(f"<li>{e(item)}</li>" for item in b[1]) + "</ul>")
            elif b[0] == "img":
                out.append(f"<figure><img src='{e(b[1])}' alt='{e(b[2])}'><figcaption>{e(b[2])}</figcaption></figure>")
            else:
                out.append(f"<pre>{e(b[1])}</pre>")
        out.append("</body></html>")
        return "\n".join(out)
