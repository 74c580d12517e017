package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

// docsRoot is the repository root, seen from this package's folder.
const docsRoot = "../.."

// docsFiles returns README.md and docs/*.md, relative to docsRoot.
func docsFiles(t *testing.T) []string {
	t.Helper()
	files := []string{"README.md"}
	more, err := filepath.Glob(filepath.Join(docsRoot, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range more {
		rel, err := filepath.Rel(docsRoot, f)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, filepath.ToSlash(rel))
	}
	return files
}

// docsLine is one line of a Markdown file with its 1-based number.
type docsLine struct {
	n    int
	text string
}

// docsRead returns a Markdown file's lines, split into those outside fenced
// code blocks (prose) and the fenced blocks, each with its info string.
func docsRead(t *testing.T, name string) (prose []docsLine, blocks []docsBlock) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(docsRoot, name))
	if err != nil {
		t.Fatal(err)
	}
	var cur *docsBlock
	fence := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		trim := strings.TrimLeft(line, " ")
		if cur == nil {
			if f := docsFence(trim); f != "" {
				fence = f
				cur = &docsBlock{info: strings.TrimSpace(trim[len(f):])}
				continue
			}
			prose = append(prose, docsLine{n, line})
			continue
		}
		if strings.HasPrefix(trim, fence) && strings.TrimSpace(trim[len(fence):]) == "" {
			blocks = append(blocks, *cur)
			cur = nil
			continue
		}
		cur.lines = append(cur.lines, docsLine{n, line})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if cur != nil {
		t.Errorf("%s: code block opened at line %d is never closed", name, cur.lines[0].n-1)
	}
	return prose, blocks
}

// docsBlock is a fenced code block: its info string (sh, yaml, ...) and lines.
type docsBlock struct {
	info  string
	lines []docsLine
}

// docsFence returns the fence a line opens (three or more backticks or
// tildes), or "".
func docsFence(trim string) string {
	for _, c := range []string{"`", "~"} {
		i := 0
		for i < len(trim) && trim[i:i+1] == c {
			i++
		}
		if i >= 3 {
			return trim[:i]
		}
	}
	return ""
}

var (
	docsLinkRE    = regexp.MustCompile(`!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)`)
	docsCodeRE    = regexp.MustCompile("`[^`]*`")
	docsHeadingRE = regexp.MustCompile(`^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$`)
)

// docsAnchors returns the anchors GitHub gives a Markdown file's headings.
func docsAnchors(t *testing.T, name string) map[string]bool {
	t.Helper()
	prose, _ := docsRead(t, name)
	anchors := map[string]bool{}
	seen := map[string]int{}
	for _, l := range prose {
		m := docsHeadingRE.FindStringSubmatch(l.text)
		if m == nil {
			continue
		}
		a := docsAnchor(m[2])
		if k := seen[a]; k > 0 {
			anchors[fmt.Sprintf("%s-%d", a, k)] = true
		} else {
			anchors[a] = true
		}
		seen[a]++
	}
	return anchors
}

// docsAnchor turns a heading into its anchor by GitHub's rules: the text
// of links and code kept, lowercase, spaces to '-', every character but
// letters, digits, '-' and '_' dropped.
func docsAnchor(heading string) string {
	heading = docsLinkRE.ReplaceAllStringFunc(heading, func(s string) string {
		return s[strings.Index(s, "[")+1 : strings.Index(s, "]")]
	})
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

func TestDocsAnchor(t *testing.T) {
	for _, tc := range []struct{ heading, want string }{
		{"Quick start", "quick-start"},
		{"What a better forecast could buy: `clairvoyant`", "what-a-better-forecast-could-buy-clairvoyant"},
		{"Against a real Prometheus: `sim serve` and `export`", "against-a-real-prometheus-sim-serve-and-export"},
		{"presage's own metrics", "presages-own-metrics"},
		{"Schedules: prewarm, freeze, known events", "schedules-prewarm-freeze-known-events"},
		{"The [example](x.md) file", "the-example-file"},
	} {
		if got := docsAnchor(tc.heading); got != tc.want {
			t.Errorf("docsAnchor(%q) = %q, want %q", tc.heading, got, tc.want)
		}
	}
}

// TestDocsLinks checks that every relative link in README.md and docs/*.md
// names an existing file, and that an #anchor names a heading of the target.
func TestDocsLinks(t *testing.T) {
	anchors := map[string]map[string]bool{}
	for _, name := range docsFiles(t) {
		prose, _ := docsRead(t, name)
		for _, l := range prose {
			text := docsCodeRE.ReplaceAllString(l.text, "")
			for _, m := range docsLinkRE.FindAllStringSubmatch(text, -1) {
				link := m[1]
				if strings.Contains(link, "://") || strings.HasPrefix(link, "mailto:") {
					continue
				}
				path, anchor, _ := strings.Cut(link, "#")
				target := name
				if path != "" {
					if strings.HasPrefix(path, "/") {
						t.Errorf("%s:%d: link %q is absolute; links are relative to the file", name, l.n, link)
						continue
					}
					target = filepath.ToSlash(filepath.Join(filepath.Dir(name), path))
					if _, err := os.Stat(filepath.Join(docsRoot, target)); err != nil {
						t.Errorf("%s:%d: link %q: %s does not exist", name, l.n, link, target)
						continue
					}
				}
				if anchor == "" {
					continue
				}
				if !strings.HasSuffix(target, ".md") {
					t.Errorf("%s:%d: link %q: an anchor in %s, which is not Markdown", name, l.n, link, target)
					continue
				}
				if anchors[target] == nil {
					anchors[target] = docsAnchors(t, target)
				}
				if !anchors[target][anchor] {
					t.Errorf("%s:%d: link %q: %s has no heading with anchor #%s", name, l.n, link, target, anchor)
				}
			}
		}
	}
}

// docsCommand is one presage command line of a sh block.
type docsCommand struct {
	file string
	line int
	args []string // after "presage" or "go run ./cmd/presage"
}

// docsCommands returns the presage commands of the sh blocks of a file: a
// simple command (split at |, &&, || and ;) that starts with presage,
// ./presage or go run ./cmd/presage, up to a redirection.
func docsCommands(t *testing.T, name string) []docsCommand {
	t.Helper()
	_, blocks := docsRead(t, name)
	var cmds []docsCommand
	for _, b := range blocks {
		if b.info != "sh" {
			continue
		}
		for i := 0; i < len(b.lines); i++ {
			start := b.lines[i].n
			text := b.lines[i].text
			for strings.HasSuffix(text, `\`) && i+1 < len(b.lines) {
				i++
				text = strings.TrimSuffix(text, `\`) + " " + b.lines[i].text
			}
			words, err := docsSplit(text)
			if err != nil {
				t.Errorf("%s:%d: %v", name, start, err)
				continue
			}
			for _, simple := range docsSimple(words) {
				if args, ok := docsPresage(simple); ok {
					cmds = append(cmds, docsCommand{name, start, args})
				}
			}
		}
	}
	return cmds
}

// docsSplit splits a shell line into words: quotes grouped and removed, a
// comment (# after a blank) dropped, |, &&, ||, ; and redirections kept as
// words of their own.
func docsSplit(line string) ([]string, error) {
	var words []string
	var cur strings.Builder
	in := false // a word is under way
	flush := func() {
		if in {
			words = append(words, cur.String())
			cur.Reset()
			in = false
		}
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == ' ' || c == '\t':
			flush()
		case c == '#' && !in:
			flush()
			return words, nil
		case c == '\'' || c == '"':
			j := strings.IndexByte(line[i+1:], c)
			if j < 0 {
				return nil, fmt.Errorf("unclosed quote %c in %q", c, line)
			}
			cur.WriteString(line[i+1 : i+1+j])
			in = true
			i += j + 1
		case c == '|' || c == ';' || c == '&' || c == '>' || c == '<':
			if (c == '>' || c == '<') && in && docsAllDigits(cur.String()) {
				cur.Reset() // 2>: a redirection of a numbered stream
				in = false
			}
			flush()
			op := string(c)
			for i+1 < len(line) && strings.IndexByte("|&>", line[i+1]) >= 0 {
				i++
				op += string(line[i])
			}
			words = append(words, op)
		default:
			cur.WriteByte(c)
			in = true
		}
	}
	flush()
	return words, nil
}

func docsAllDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// docsSimple splits words into simple commands at |, &&, || and ;, and
// drops each one's redirections and what follows them.
func docsSimple(words []string) [][]string {
	var out [][]string
	var cur []string
	redirected := false
	for _, w := range words {
		switch {
		case w == "|" || w == "||" || w == "&&" || w == ";" || w == "&":
			out = append(out, cur)
			cur, redirected = nil, false
		case w != "" && (strings.ContainsAny(w[:1], "<>") || strings.HasPrefix(w, "&>")):
			redirected = true
		case !redirected:
			cur = append(cur, w)
		}
	}
	return append(out, cur)
}

// docsPresage reports whether a simple command runs presage, and its
// arguments.
func docsPresage(words []string) ([]string, bool) {
	if len(words) > 0 && words[0] == "time" {
		words = words[1:]
	}
	switch {
	case len(words) >= 1 && (words[0] == "presage" || words[0] == "./presage"):
		return words[1:], true
	case len(words) >= 3 && words[0] == "go" && words[1] == "run" && words[2] == "./cmd/presage":
		return words[3:], true
	}
	return nil, false
}

// docsUsage runs presage with args and returns what it printed.
func docsUsage(t *testing.T, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	if code := run(args, &out, &errb); code != 0 {
		t.Fatalf("presage %s: exit %d\n%s%s", strings.Join(args, " "), code, out.String(), errb.String())
	}
	return out.String() + errb.String()
}

// docsSection returns the names listed in a usage text's section (the
// lines after a line "title:" that start with two spaces and a name).
func docsSection(usage, title string) []string {
	var names []string
	in := false
	for line := range strings.Lines(usage) {
		line = strings.TrimRight(line, "\n")
		switch {
		case line == title+":":
			in = true
		case in && strings.HasPrefix(line, "  ") && !strings.HasPrefix(line, "   "):
			names = append(names, strings.Fields(line)[0])
		case in && line == "":
			in = false
		}
	}
	return names
}

// docsFlags returns the flags a subcommand's -help lists, each with
// whether it takes a value.
func docsFlags(t *testing.T, sub []string) map[string]bool {
	t.Helper()
	usage := docsUsage(t, append(sub, "-help")...)
	_, flags, ok := strings.Cut(usage, "\nFlags:\n")
	if !ok {
		t.Fatalf("presage %s -help has no Flags: section:\n%s", strings.Join(sub, " "), usage)
	}
	out := map[string]bool{"help": false, "h": false}
	for line := range strings.Lines(flags) {
		if !strings.HasPrefix(line, "  -") {
			continue
		}
		f := strings.Fields(line)
		out[strings.TrimPrefix(f[0], "-")] = len(f) > 1
	}
	return out
}

// TestDocsCommands checks that every presage command in a sh block of
// README.md and docs/*.md names a real subcommand and only its flags.
func TestDocsCommands(t *testing.T) {
	subs := map[string][]string{} // "sim serve" -> ["sim", "serve"]
	for _, name := range docsSection(docsUsage(t, "-help"), "Commands") {
		if name == "sim" {
			for _, s := range docsSection(docsUsage(t, "sim", "-help"), "Subcommands") {
				subs["sim "+s] = []string{"sim", s}
			}
			continue
		}
		subs[name] = []string{name}
	}
	if subs["replay"] == nil || subs["sim serve"] == nil {
		t.Fatalf("subcommands read from the usage: %v; want replay and sim serve among them", subs)
	}
	flags := map[string]map[string]bool{}
	n := 0
	for _, name := range docsFiles(t) {
		for _, c := range docsCommands(t, name) {
			n++
			where := fmt.Sprintf("%s:%d", c.file, c.line)
			if len(c.args) == 0 {
				t.Errorf("%s: presage without a subcommand", where)
				continue
			}
			sub := c.args[0]
			rest := c.args[1:]
			if sub == "sim" && len(rest) > 0 {
				sub, rest = "sim "+rest[0], rest[1:]
			}
			path, ok := subs[sub]
			if !ok {
				t.Errorf("%s: presage %s: no such subcommand", where, sub)
				continue
			}
			if flags[sub] == nil {
				flags[sub] = docsFlags(t, path)
			}
			for i := 0; i < len(rest); i++ {
				w := rest[i]
				if !strings.HasPrefix(w, "-") || w == "-" {
					t.Errorf("%s: presage %s: argument %q is not a flag", where, sub, w)
					continue
				}
				f, _, hasValue := strings.Cut(strings.TrimLeft(w, "-"), "=")
				takes, ok := flags[sub][f]
				if !ok {
					t.Errorf("%s: presage %s: flag -%s is not a flag of 'presage %s'", where, sub, f, sub)
					continue
				}
				if takes && !hasValue {
					i++ // its value
				}
			}
		}
	}
	if n == 0 {
		t.Error("no presage command found in the sh blocks of README.md and docs/*.md")
	}
}
