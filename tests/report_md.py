"""A report's index.md read by section title: the report numbers its sections when it renders them, so
the tests find a section by its heading's text and never by its number.

    from report_md import section, headings
    summary = section(md, "Summary")                        # the text under "## 1. Summary"
    table = section(md, "Test memory, bits", level=3)       # under "### Test memory, bits"
"""
import re

HEADING = re.compile(r"(#{1,6}) (?:(\d+)\. )?(.*)$")


def headings(md):
    """(level, number or None, title) of every heading of md, in order; code blocks are passed over."""
    out, code = [], False
    for line in md.splitlines():
        if line.startswith("```"):
            code = not code
        m = None if code else HEADING.match(line)
        if m:
            out.append((len(m.group(1)), int(m.group(2)) if m.group(2) else None, m.group(3)))
    return out


def section(md, title, level=2):
    """The lines under the heading TITLE of LEVEL up to the next heading of that level or above, as
    text; KeyError when md has no such heading."""
    out, inside, code = [], False, False
    for line in md.splitlines():
        if line.startswith("```"):
            code = not code
        m = None if code else HEADING.match(line)
        if m and inside and len(m.group(1)) <= level:
            break
        if inside:
            out.append(line)
        elif m and len(m.group(1)) == level and m.group(3) == title:
            inside = True
    if not inside:
        raise KeyError(f"no section '{title}' in the report")
    return "\n".join(out)


def has(md, title, level=2):
    """Whether md has a heading TITLE of LEVEL."""
    return (level, title) in {(lv, t) for lv, _, t in headings(md)}
