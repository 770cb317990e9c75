# SPDX-License-Identifier: MIT
"""The one parser of marked regions, for tools/regions, tools/diffs and
tools/workshop.

A region is the lines strictly between
    /* region: NAME */        and        /* endregion: NAME */
(in NASM sources: "; region: NAME" and "; endregion: NAME").  A README
excerpt is a line "<!-- excerpt: FILE NAME -->" (FILE relative to the
README) followed at once by a ```c block (```nasm for a .asm FILE)
holding exactly the region's lines.
"""
import os
import re

MARKER = re.compile(r'^[ \t]*(?:/\*|;)[ \t]*(region|endregion): ([A-Za-z0-9_]+)'
                    r'(?:[ \t]*\*/)?[ \t]*$')
EXCERPT = re.compile(r'^<!-- excerpt: (\S+) ([A-Za-z0-9_]+) -->[ \t]*$')

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STEP_DIR = re.compile(r'^(?:beyond/)?step[0-9][0-9]-[^/]+$')


class Region:
    """One region of one file: its name, the 1-based line numbers of its
    two markers, and the lines between them (without newlines)."""

    def __init__(self, path, name, start, end, body):
        self.path, self.name, self.start, self.end = path, name, start, end
        self.body = body

    def where(self):
        return f'{self.path}:{self.start}'


def marker(line):
    """("region" | "endregion", NAME) if line is a marker, else None."""
    m = MARKER.match(line)
    return (m.group(1), m.group(2)) if m else None


def read_lines(path):
    """The lines of a file, without their newlines."""
    with open(path, encoding='utf-8', errors='surrogateescape') as f:
        text = f.read()
    lines = text.split('\n')
    return lines[:-1] if text.endswith('\n') or text == '' else lines


def parse(path, lines=None):
    """The regions of a file, in order, and a list of "FILE:LINE: problem"
    strings for markers that do not pair up."""
    if lines is None:
        lines = read_lines(path)
    regions, problems, open_at, seen = [], [], {}, set()
    for number, line in enumerate(lines, 1):
        m = marker(line)
        if not m:
            continue
        kind, name = m
        if kind == 'region':
            if name in open_at or name in seen:
                problems.append(f'{path}:{number}: region {name} opened twice')
            open_at[name] = number
            seen.add(name)
        elif name not in open_at:
            problems.append(f'{path}:{number}: endregion {name} without its region')
        else:
            start = open_at.pop(name)
            regions.append(Region(path, name, start, number, lines[start:number - 1]))
    for name, number in open_at.items():
        problems.append(f'{path}:{number}: region {name} has no endregion')
    regions.sort(key=lambda r: r.start)
    return regions, problems


def get(path, name):
    """The body of region NAME of path, or None."""
    if not os.path.isfile(path):
        return None
    for r in parse(path)[0]:
        if r.name == name:
            return r.body
    return None


def without(lines, names):
    """lines with every region in names removed, markers included, and
    the blank line after each."""
    out, skipping, gap = [], None, False
    for line in lines:
        m = marker(line)
        if skipping:
            if m == ('endregion', skipping):
                skipping, gap = None, True
            continue
        if m and m[0] == 'region' and m[1] in names:
            skipping = m[1]
            continue
        if gap:
            gap = False
            if line == '':
                continue
        out.append(line)
    return out


def without_markers(lines):
    """lines with the marker lines themselves left out."""
    return [line for line in lines if not marker(line)]


def replace_bodies(lines, bodies):
    """lines with the body of each region named in bodies (a dict NAME ->
    list of lines) replaced; the markers stay."""
    out, skipping = [], None
    for line in lines:
        m = marker(line)
        if skipping:
            if m == ('endregion', skipping):
                skipping = None
                out.append(line)
            continue
        out.append(line)
        if m and m[0] == 'region' and m[1] in bodies:
            out.extend(bodies[m[1]])
            skipping = m[1]
    return out


def fence(src):
    return '```nasm' if src.endswith('.asm') else '```c'


class Excerpt:
    """One excerpt marker of a README: its line, the source and region it
    names, and the fenced block after it (body None if there is none)."""

    def __init__(self, md, at, src, name, body, end):
        self.md, self.at, self.src, self.name = md, at, src, name
        self.body, self.end = body, end   # end: index after the closing ```

    def source_path(self):
        return os.path.normpath(os.path.join(os.path.dirname(self.md), self.src))


def excerpts(md, lines=None):
    """Every excerpt of a Markdown file."""
    if lines is None:
        lines = read_lines(md)
    found = []
    for i, line in enumerate(lines):
        m = EXCERPT.match(line)
        if not m:
            continue
        src, name = m.groups()
        body, end = None, i + 1
        if i + 1 < len(lines) and lines[i + 1] == fence(src):
            for j in range(i + 2, len(lines)):
                if lines[j] == '```':
                    body, end = lines[i + 2:j], j + 1
                    break
        found.append(Excerpt(md, i + 1, src, name, body, end))
    return found


def steps(top=TOP):
    """Every step directory, relative to top: step01-open ... step10-guest,
    then the chapters in beyond/, in the order of their numbers."""
    found = [d for d in os.listdir(top) if STEP_DIR.match(d)]
    beyond = os.path.join(top, 'beyond')
    if os.path.isdir(beyond):
        found += ['beyond/' + d for d in os.listdir(beyond) if STEP_DIR.match(d)]
    found = [d for d in found if os.path.isdir(os.path.join(top, d))]
    return sorted(found, key=lambda d: (os.path.basename(d), d))


def program(step_dir):
    """step05-memory -> step05."""
    return os.path.basename(step_dir).split('-')[0]


def step_sources(step_dir, top=TOP):
    """The step's C, header and NASM sources, its main program's first."""
    names = sorted(n for n in os.listdir(os.path.join(top, step_dir))
                   if n.endswith(('.c', '.h', '.asm')))
    main = program(step_dir) + '.c'
    if main in names:
        names.remove(main)
        names.insert(0, main)
    return [os.path.join(step_dir, n) for n in names]


def sources(top=TOP):
    """Every file, relative to top, that may hold regions."""
    found = []
    for base in steps(top) + ['common', 'tests']:
        for root, dirs, files in os.walk(os.path.join(top, base)):
            dirs[:] = sorted(d for d in dirs if not d.startswith('.build'))
            for n in files:
                if n.endswith(('.c', '.h', '.asm')):
                    found.append(os.path.relpath(os.path.join(root, n), top))
    return sorted(set(found))


def readmes(top=TOP):
    """Every Markdown file, relative to top, that may hold excerpts."""
    skip = {'.git', '.cache', 'workshop', 'diffs'}
    found = []
    for root, dirs, files in os.walk(top):
        rel = os.path.relpath(root, top)
        dirs[:] = sorted(d for d in dirs if not d.startswith('.build')
                         and not (rel == '.' and d in skip))
        for n in files:
            if n.endswith('.md'):
                found.append(os.path.normpath(os.path.join(rel, n)))
    return sorted(found)


def promoted_stage(step_dir, top=TOP):
    """The STAGE its Makefile names (the common/stages/ file holding the step's
    promoted stage), or None."""
    try:
        lines = read_lines(os.path.join(top, step_dir, 'Makefile'))
    except OSError:
        return None
    for line in lines:
        m = re.match(r'^STAGE[ \t]*:?=[ \t]*([A-Za-z0-9_]+)[ \t]*(?:#.*)?$', line)
        if m:
            return m.group(1)
    return None
