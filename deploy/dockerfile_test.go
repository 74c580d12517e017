package deploy

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// imageLayout is what presage's image holds, as far as its two builds
// (deploy/Dockerfile and scripts/image.sh) must agree.
type imageLayout struct {
	User       string
	WorkingDir string
	Env        []string
	Entrypoint []string
	Cmd        []string
	Ports      []string
	Labels     map[string]string
	Files      map[string]imageFile // by absolute path
}

// imageFile is a file or folder of the image.
type imageFile struct {
	Mode     fs.FileMode // type and permission bits
	UID, GID int
	// What its content must be: Source names a repository file it copies;
	// Binary marks presage's static binary; Lines are lines it must hold
	// (blanks squeezed), the only ones but comments when Exact; PEM marks a
	// CA bundle.
	Source string
	Binary bool
	Lines  []string
	Exact  bool
	PEM    bool
}

// bases holds what each base image the Dockerfile may start its final stage
// from gives presage. gcr.io/distroless/static-debian12:nonroot is built by
// GoogleContainerTools/distroless: its passwd, group and home folders in
// common/BUILD.bazel, its /tmp there too, its user, working folder and
// environment in static/static.bzl (the nonroot variant), its nsswitch.conf
// (Debian's) in static/nsswitch.conf, its CA bundle from Debian's
// ca-certificates package. Only the nsswitch.conf line Go reads is kept;
// base-files, netbase, tzdata and media-types are left out (presage carries
// its time zones and reads none of the rest).
var bases = map[string]imageLayout{
	"gcr.io/distroless/static-debian12:nonroot": {
		User:       "65532",
		WorkingDir: "/home/nonroot",
		Env: []string{
			"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			"SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt",
		},
		Files: map[string]imageFile{
			"/etc/passwd": {Mode: 0o644, Exact: true, Lines: []string{
				"root:x:0:0:root:/root:/sbin/nologin",
				"nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin",
				"nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin",
			}},
			"/etc/group": {Mode: 0o644, Exact: true, Lines: []string{
				"root:x:0:", "nobody:x:65534:", "tty:x:5:", "staff:x:50:", "nonroot:x:65532:",
			}},
			"/etc/nsswitch.conf":                 {Mode: 0o644, Lines: []string{"hosts: files dns"}},
			"/etc/ssl/certs/ca-certificates.crt": {Mode: 0o644, PEM: true},
			"/home/nonroot":                      {Mode: fs.ModeDir | 0o700, UID: 65532, GID: 65532},
			"/tmp":                               {Mode: fs.ModeDir | fs.ModeSticky | 0o777},
		},
	},
}

// dockerfileLayout returns the layout of the image the Dockerfile builds
// with the given build arguments: its final stage's base, then what the
// stage's instructions change. An instruction whose effect it cannot tell
// is an error.
func dockerfileLayout(dockerfile string, buildArgs map[string]string) (imageLayout, error) {
	var lines []string
	cont := ""
	for l := range strings.SplitSeq(dockerfile, "\n") {
		l = strings.TrimSpace(l)
		if cont == "" && (l == "" || strings.HasPrefix(l, "#")) {
			continue
		}
		if s, ok := strings.CutSuffix(l, `\`); ok {
			cont += s + " "
			continue
		}
		lines = append(lines, cont+l)
		cont = ""
	}
	final := -1
	for i, l := range lines {
		if strings.EqualFold(strings.Fields(l)[0], "FROM") {
			final = i
		}
	}
	if final < 0 {
		return imageLayout{}, errors.New("no FROM")
	}
	base := strings.Fields(lines[final])[1]
	b, ok := bases[base]
	if !ok {
		return imageLayout{}, fmt.Errorf("final stage's base %s: its layout is not in bases", base)
	}
	m := b
	m.Env = slices.Clone(b.Env)
	m.Files = maps.Clone(b.Files)
	m.Labels = map[string]string{}
	args := map[string]string{}
	expand := func(s string) string {
		return regexp.MustCompile(`\$\{?(\w+)\}?`).ReplaceAllStringFunc(s, func(v string) string {
			return args[strings.Trim(v, "${}")]
		})
	}
	jsonArray := func(instr, rest string) ([]string, error) {
		var a []string
		if err := json.Unmarshal([]byte(rest), &a); err != nil {
			return nil, fmt.Errorf("%s %s: want the exec (JSON) form: %w", instr, rest, err)
		}
		return a, nil
	}
	for _, l := range lines[final+1:] {
		instr, rest, _ := strings.Cut(l, " ")
		rest = strings.TrimSpace(rest)
		var err error
		switch strings.ToUpper(instr) {
		case "ARG":
			name, def, _ := strings.Cut(rest, "=")
			args[name] = def
			if v, ok := buildArgs[name]; ok {
				args[name] = v
			}
		case "LABEL":
			for _, kv := range strings.Fields(rest) {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					return m, fmt.Errorf("LABEL %s: want key=value", kv)
				}
				m.Labels[k] = expand(strings.Trim(v, `"`))
			}
		case "ENV":
			k, v, ok := strings.Cut(rest, "=")
			if !ok {
				return m, fmt.Errorf("ENV %s: want key=value", rest)
			}
			m.Env = slices.DeleteFunc(m.Env, func(e string) bool { return strings.HasPrefix(e, k+"=") })
			m.Env = append(m.Env, k+"="+expand(v))
		case "COPY":
			f := imageFile{}
			words := strings.Fields(rest)
			mode := ""
			for len(words) > 0 && strings.HasPrefix(words[0], "--") {
				k, v, _ := strings.Cut(strings.TrimPrefix(words[0], "--"), "=")
				switch k {
				case "from":
					f.Binary = true
				case "chmod":
					mode = v
				default:
					return m, fmt.Errorf("COPY --%s: not understood", k)
				}
				words = words[1:]
			}
			if len(words) != 2 {
				return m, fmt.Errorf("COPY %s: want one source and one destination", rest)
			}
			if mode == "" {
				return m, fmt.Errorf("COPY %s: no --chmod, so its mode depends on the build context's", rest)
			}
			perm, err := strconv.ParseUint(mode, 8, 32)
			if err != nil {
				return m, fmt.Errorf("COPY --chmod=%s: %w", mode, err)
			}
			f.Mode = fs.FileMode(perm)
			if !f.Binary {
				f.Source = words[0]
			}
			m.Files[words[1]] = f
		case "USER":
			m.User = rest
		case "WORKDIR":
			m.WorkingDir = rest
		case "EXPOSE":
			for _, p := range strings.Fields(rest) {
				if !strings.Contains(p, "/") {
					p += "/tcp"
				}
				m.Ports = append(m.Ports, p)
			}
		case "ENTRYPOINT":
			m.Entrypoint, err = jsonArray(instr, rest)
			m.Cmd = nil // as Docker does: a new entrypoint drops the base's cmd
		case "CMD":
			m.Cmd, err = jsonArray(instr, rest)
		default:
			return m, fmt.Errorf("%s in the final stage: this test does not know what it changes", instr)
		}
		if err != nil {
			return m, err
		}
	}
	return m, nil
}

// TestDockerfileLayout checks what the Dockerfile's image must hold,
// whatever builds it: presage at the entrypoint, the example config where
// the default command reads it, a CA bundle, run as 65532 from its home.
func TestDockerfileLayout(t *testing.T) {
	b, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	m, err := dockerfileLayout(string(b), map[string]string{"VERSION": "v1.2.3"})
	if err != nil {
		t.Fatal(err)
	}
	if m.User != "65532:65532" || m.WorkingDir != "/home/nonroot" {
		t.Errorf("user %q in %q, want 65532:65532 in /home/nonroot", m.User, m.WorkingDir)
	}
	if len(m.Entrypoint) != 1 || !m.Files[m.Entrypoint[0]].Binary || m.Files[m.Entrypoint[0]].Mode != 0o755 {
		t.Errorf("entrypoint %q is not presage's binary, mode 0755: %+v", m.Entrypoint, m.Files)
	}
	if i := slices.Index(m.Cmd, "-config"); i < 0 || i+1 >= len(m.Cmd) || m.Files[m.Cmd[i+1]].Source != "config.example.yaml" {
		t.Errorf("cmd %q does not read the image's copy of config.example.yaml", m.Cmd)
	}
	if !m.Files["/etc/ssl/certs/ca-certificates.crt"].PEM {
		t.Error("no CA bundle")
	}
	if m.Labels["org.opencontainers.image.version"] != "v1.2.3" || !slices.Equal(m.Ports, []string{"9797/tcp"}) {
		t.Errorf("labels %v, ports %v: want the version label and 9797/tcp", m.Labels, m.Ports)
	}
	for _, bad := range []string{
		"FROM scratch\nUSER 1\n",
		"FROM gcr.io/distroless/static-debian12:nonroot\nCOPY a /a\n",
		"FROM gcr.io/distroless/static-debian12:nonroot\nRUN true\n",
		"FROM gcr.io/distroless/static-debian12:nonroot\nENTRYPOINT /presage\n",
	} {
		if _, err := dockerfileLayout(bad, nil); err == nil {
			t.Errorf("no error for %q", bad)
		}
	}
}
