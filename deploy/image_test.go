package deploy

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"crypto/x509"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// ociImage is an image read from an OCI image layout.
type ociImage struct {
	digest   string // the manifest's
	manifest struct {
		MediaType string `json:"mediaType"`
		Config    ociDescriptor
		Layers    []ociDescriptor
	}
	config struct {
		Architecture string `json:"architecture"`
		OS           string `json:"os"`
		Config       struct {
			User         string
			WorkingDir   string
			Env          []string
			Entrypoint   []string
			Cmd          []string
			ExposedPorts map[string]struct{}
			Labels       map[string]string
		} `json:"config"`
		RootFS struct {
			DiffIDs []string `json:"diff_ids"`
		} `json:"rootfs"`
	}
	files   map[string]*tar.Header // by absolute path
	content map[string][]byte      // regular files
}

type ociDescriptor struct {
	MediaType string `json:"mediaType"`
	Digest    string `json:"digest"`
	Size      int64  `json:"size"`
}

// readBlob reads a blob of an OCI layout and checks its digest and size.
func readBlob(dir string, d ociDescriptor) ([]byte, error) {
	hexd, ok := strings.CutPrefix(d.Digest, "sha256:")
	if !ok {
		return nil, fmt.Errorf("digest %q: want sha256", d.Digest)
	}
	b, err := os.ReadFile(filepath.Join(dir, "blobs", "sha256", hexd))
	if err != nil {
		return nil, err
	}
	if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != hexd || int64(len(b)) != d.Size {
		return nil, fmt.Errorf("blob %s: content does not match its digest or size %d", d.Digest, d.Size)
	}
	return b, nil
}

// readImage reads the one image of an OCI image layout and its layers.
func readImage(dir string) (*ociImage, error) {
	var index struct {
		Manifests []ociDescriptor
	}
	b, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &index); err != nil {
		return nil, fmt.Errorf("index.json: %w", err)
	}
	if len(index.Manifests) != 1 || index.Manifests[0].MediaType != "application/vnd.oci.image.manifest.v1+json" {
		return nil, fmt.Errorf("index.json: want one OCI image manifest, got %+v", index.Manifests)
	}
	img := &ociImage{digest: index.Manifests[0].Digest, files: map[string]*tar.Header{}, content: map[string][]byte{}}
	if b, err = readBlob(dir, index.Manifests[0]); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &img.manifest); err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	if img.manifest.Config.MediaType != "application/vnd.oci.image.config.v1+json" {
		return nil, fmt.Errorf("config media type %q", img.manifest.Config.MediaType)
	}
	if b, err = readBlob(dir, img.manifest.Config); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &img.config); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if len(img.manifest.Layers) != len(img.config.RootFS.DiffIDs) {
		return nil, fmt.Errorf("%d layers, %d diff_ids", len(img.manifest.Layers), len(img.config.RootFS.DiffIDs))
	}
	for i, l := range img.manifest.Layers {
		if l.MediaType != "application/vnd.oci.image.layer.v1.tar+gzip" {
			return nil, fmt.Errorf("layer %d: media type %q", i, l.MediaType)
		}
		if b, err = readBlob(dir, l); err != nil {
			return nil, err
		}
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("layer %d: %w", i, err)
		}
		h := sha256.New()
		tee := io.TeeReader(zr, h)
		tr := tar.NewReader(tee)
		for {
			hdr, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("layer %d: %w", i, err)
			}
			name := path.Clean("/" + hdr.Name)
			img.files[name] = hdr
			if hdr.Typeflag == tar.TypeReg {
				if img.content[name], err = io.ReadAll(tr); err != nil {
					return nil, fmt.Errorf("layer %d: %s: %w", i, name, err)
				}
			}
		}
		if _, err := io.Copy(io.Discard, tee); err != nil { // the tar's padding
			return nil, fmt.Errorf("layer %d: %w", i, err)
		}
		if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != img.config.RootFS.DiffIDs[i] {
			return nil, fmt.Errorf("layer %d: uncompressed digest %s, config says %s", i, got, img.config.RootFS.DiffIDs[i])
		}
	}
	return img, nil
}

// fileMode returns a tar entry's type and permission bits.
func fileMode(h *tar.Header) fs.FileMode {
	return h.FileInfo().Mode() & (fs.ModeType | fs.ModePerm | fs.ModeSticky)
}

// normLines returns a file's lines but comments and blanks, each with its
// runs of blanks squeezed to one.
func normLines(b []byte) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if l := strings.Join(strings.Fields(sc.Text()), " "); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

// checkLayout reports every way the image differs from the layout.
func checkLayout(t *testing.T, img *ociImage, want imageLayout) {
	t.Helper()
	c := img.config.Config
	if img.config.OS != "linux" || img.config.Architecture != runtime.GOARCH {
		t.Errorf("platform %s/%s, want linux/%s", img.config.OS, img.config.Architecture, runtime.GOARCH)
	}
	if c.User != want.User || c.WorkingDir != want.WorkingDir {
		t.Errorf("user %q, working folder %q; the Dockerfile's: %q, %q", c.User, c.WorkingDir, want.User, want.WorkingDir)
	}
	if !slices.Equal(c.Entrypoint, want.Entrypoint) || !slices.Equal(c.Cmd, want.Cmd) {
		t.Errorf("entrypoint %q cmd %q; the Dockerfile's: %q %q", c.Entrypoint, c.Cmd, want.Entrypoint, want.Cmd)
	}
	if !slices.Equal(c.Env, want.Env) {
		t.Errorf("env %q; the Dockerfile's: %q", c.Env, want.Env)
	}
	if ports := slices.Sorted(maps.Keys(c.ExposedPorts)); !slices.Equal(ports, want.Ports) {
		t.Errorf("exposed ports %q; the Dockerfile's: %q", ports, want.Ports)
	}
	if !maps.Equal(c.Labels, want.Labels) {
		t.Errorf("labels %v; the Dockerfile's: %v", c.Labels, want.Labels)
	}
	// Every file of the Dockerfile's image, as it is there.
	for name, f := range want.Files {
		h, ok := img.files[name]
		if !ok {
			t.Errorf("%s: not in the image", name)
			continue
		}
		if fileMode(h) != f.Mode || h.Uid != f.UID || h.Gid != f.GID {
			t.Errorf("%s: mode %v owner %d:%d; the Dockerfile's: %v %d:%d", name, fileMode(h), h.Uid, h.Gid, f.Mode, f.UID, f.GID)
		}
		b := img.content[name]
		if f.Source != "" {
			src, err := os.ReadFile(filepath.Join("..", f.Source))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b, src) {
				t.Errorf("%s is not the repository's %s", name, f.Source)
			}
		}
		if f.Binary {
			if err := staticELF(b); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}
		if f.PEM {
			if n, err := countCerts(b); err != nil || n < 100 {
				t.Errorf("%s: %d certificates (%v), want Debian's bundle (more than 100)", name, n, err)
			}
		}
		if f.Lines != nil {
			got := normLines(b)
			for _, l := range f.Lines {
				if !slices.Contains(got, l) {
					t.Errorf("%s lacks %q; it holds %q", name, l, got)
				}
			}
			if f.Exact && len(got) != len(f.Lines) {
				t.Errorf("%s holds %q; the Dockerfile's, only %q", name, got, f.Lines)
			}
		}
	}
	// Nothing more but the folders that hold them, root's and 0755.
	for name, h := range img.files {
		if _, ok := want.Files[name]; ok {
			continue
		}
		parent := slices.ContainsFunc(slices.Collect(maps.Keys(want.Files)), func(f string) bool {
			return name == "/" || strings.HasPrefix(f, name+"/")
		})
		if !parent || fileMode(h) != fs.ModeDir|0o755 || h.Uid != 0 || h.Gid != 0 {
			t.Errorf("%s (%v, %d:%d): the Dockerfile's image has no such file", name, fileMode(h), h.Uid, h.Gid)
		}
	}
}

// staticELF reports whether b is a statically linked ELF executable for
// this machine's architecture.
func staticELF(b []byte) error {
	f, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("not an ELF file: %w", err)
	}
	defer f.Close()
	if f.Type != elf.ET_EXEC {
		return fmt.Errorf("ELF type %v, want an executable (static, not PIE)", f.Type)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			return fmt.Errorf("dynamically linked (%v)", p.Type)
		}
	}
	return nil
}

func countCerts(b []byte) (int, error) {
	n := 0
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		if _, err := x509.ParseCertificate(blk.Bytes); err != nil {
			return n, err
		}
		n++
	}
	if len(bytes.TrimSpace(b)) > 0 {
		return n, errors.New("trailing bytes that are not PEM")
	}
	return n, nil
}

// imageVersion is the version the tests build the image with.
const imageVersion = "v0.0.0-imagetest"

// TestImage builds the image with scripts/image.sh, checks its manifest,
// config and files against the Dockerfile's, then runs its binary as the
// image says (entrypoint, user, working folder, environment) in its own
// files, and in podman when podman can run here.
func TestImage(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: not building the image")
	}
	for _, tool := range []string{"bash", "go", "tar"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("scripts/image.sh needs %s: %v", tool, err)
		}
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "oci")
	args := []string{"../scripts/image.sh", "-o", out}
	env := append(os.Environ(), "VERSION="+imageVersion)
	// When podman can run here, the script loads the image into a storage
	// of the test's own.
	pm, noPodman := newPodman(filepath.Join(dir, "podman"))
	if pm != nil {
		args = append(args, "-load")
		env = append(env, "PODMAN="+strings.Join(pm.cmd, " "))
	}
	cmd := exec.Command("bash", args...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) && ee.ExitCode() == 3 {
		t.Skipf("scripts/image.sh cannot get a tool it needs here:\n%s", stderr.String())
	}
	if err != nil {
		t.Fatalf("scripts/image.sh: %v\n%s", err, stderr.String())
	}
	img, err := readImage(out)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(stdout.String()); got != img.digest {
		t.Errorf("scripts/image.sh printed %q; the layout's manifest is %s", got, img.digest)
	}
	if len(img.manifest.Layers) != 1 {
		t.Errorf("%d layers, want one", len(img.manifest.Layers))
	}
	df, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	want, err := dockerfileLayout(string(df), map[string]string{"VERSION": imageVersion})
	if err != nil {
		t.Fatal(err)
	}
	checkLayout(t, img, want)

	c := img.config.Config
	t.Run("unpacked", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("running the image's binary in its own files as 65532 takes root (chroot, setuid)")
		}
		root := filepath.Join(dir, "rootfs")
		if err := unpack(img, root); err != nil {
			t.Fatal(err)
		}
		uid, gid, err := userIDs(c.User)
		if err != nil {
			t.Fatal(err)
		}
		run := func(args ...string) string {
			argv := append(slices.Clone(c.Entrypoint), args...)
			cmd := exec.Command(argv[0], argv[1:]...)
			cmd.Path = argv[0] // resolved inside the chroot, not here
			cmd.Dir = c.WorkingDir
			cmd.Env = c.Env
			cmd.SysProcAttr = &syscall.SysProcAttr{
				Chroot:     root,
				Credential: &syscall.Credential{Uid: uid, Gid: gid, Groups: []uint32{}},
			}
			b, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%q as %s: %v\n%s", argv, c.User, err, b)
			}
			return string(b)
		}
		if got := run("version"); got != "presage "+imageVersion+"\n" {
			t.Errorf("version printed %q", got)
		}
		if got := run("check", "-config", "/etc/presage/config.yaml"); !strings.HasPrefix(got, "/etc/presage/config.yaml: ok") {
			t.Errorf("check printed %q", got)
		}
	})

	t.Run("podman", func(t *testing.T) {
		if pm == nil {
			t.Skip(noPodman)
		}
		runPodman(t, pm, img)
	})
}

// userIDs parses an image config's numeric "uid:gid" user.
func userIDs(user string) (uid, gid uint32, err error) {
	u, g, _ := strings.Cut(user, ":")
	a, err1 := strconv.ParseUint(u, 10, 32)
	b, err2 := strconv.ParseUint(g, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return 0, 0, fmt.Errorf("user %q: want numeric uid:gid: %w", user, err)
	}
	return uint32(a), uint32(b), nil
}

// unpack writes the image's files under root with their modes and owners.
func unpack(img *ociImage, root string) error {
	names := slices.Sorted(maps.Keys(img.files))
	for _, name := range names {
		h := img.files[name]
		p := filepath.Join(root, name)
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o700); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.WriteFile(p, img.content[name], 0o600); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%s: tar type %c not unpacked", name, h.Typeflag)
		}
		if err := os.Lchown(p, h.Uid, h.Gid); err != nil {
			return err
		}
		// After chown, which clears the set-id bits.
		if err := os.Chmod(p, fileMode(h)&(fs.ModePerm|fs.ModeSticky)); err != nil {
			return err
		}
	}
	return nil
}

// podman is the podman command, with a storage of its own and the flags
// this kind of machine needs (no cgroup manager, no overlay).
type podman struct {
	cmd []string
}

// newPodman returns podman with its storage under dir, or why podman
// cannot be used here: podman's own words when it is absent or cannot run.
func newPodman(dir string) (*podman, string) {
	if _, err := exec.LookPath("podman"); err != nil {
		return nil, "podman is not installed (Debian's podman package)"
	}
	p := &podman{cmd: []string{"podman",
		"--storage-driver", "vfs",
		"--root", filepath.Join(dir, "root"),
		"--runroot", filepath.Join(dir, "run"),
		"--cgroup-manager", "cgroupfs",
	}}
	// crun 1.8 refuses hybrid cgroups (v1 with v2 controllers mounted); runc
	// takes them.
	if _, err := exec.LookPath("runc"); err == nil {
		p.cmd = append(p.cmd, "--runtime", "runc")
	}
	if _, err := p.run("info"); err != nil {
		return nil, fmt.Sprintf("podman cannot run here: %v", err)
	}
	return p, ""
}

func (p *podman) run(args ...string) (string, error) {
	cmd := exec.Command(p.cmd[0], append(slices.Clone(p.cmd[1:]), args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("podman %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

// runPodman runs the image scripts/image.sh -load loaded into podman:
// version, and check of the config it ships. Its rlimits are no higher than
// a sandbox's (podman's defaults are above them where root lacks
// CAP_SYS_RESOURCE). It skips with podman's words when only crun is there
// and the cgroups are hybrid.
func runPodman(t *testing.T, p *podman, img *ociImage) {
	name := "presage:" + imageVersion
	id, err := p.run("image", "inspect", "--format", "{{.ID}}", name)
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.TrimPrefix(img.manifest.Config.Digest, "sha256:"); strings.TrimSpace(id) != want {
		t.Errorf("podman's %s is %s, the layout's config %s", name, strings.TrimSpace(id), want)
	}
	runArgs := []string{"run", "--rm", "--network", "none",
		"--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096", name}
	got, err := p.run(append(runArgs, "version")...)
	if err != nil && strings.Contains(err.Error(), "cgroups in hybrid mode not supported") {
		t.Skipf("podman's runtime cannot start a container on this machine's cgroups (install runc): %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if got != "presage "+imageVersion+"\n" {
		t.Errorf("version in podman printed %q", got)
	}
	got, err = p.run(append(runArgs, "check", "-config", "/etc/presage/config.yaml")...)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(got, "/etc/presage/config.yaml: ok") {
		t.Errorf("check in podman printed %q", got)
	}
}
