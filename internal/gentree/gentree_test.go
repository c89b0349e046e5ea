package gentree

import (
	"github.com/nixgen/nixgen/internal/manifest"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
	"time"
)

const hdr = "# " + Marker + "\n"

func writeFile(t *testing.T, root, rel, content string) {
	t.Helper()
	p := filepath.Join(root, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// listTree returns every regular file under root with its content.
func listTree(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		if d.Type().IsRegular() {
			b, _ := os.ReadFile(p)
			rel, _ := filepath.Rel(root, p)
			out[filepath.ToSlash(rel)] = string(b)
		}
		return nil
	})
	return out
}

func TestWriteCreatesUpdatesRemoves(t *testing.T) {
	root := filepath.Join(t.TempDir(), "generated")
	writeFile(t, root, "forge/same.nix", hdr+"same\n")
	writeFile(t, root, "forge/changed.nix", hdr+"old\n")
	writeFile(t, root, "forge/services/gone.nix", hdr+"gone\n")
	writeFile(t, root, "forge/notes.txt", "hand-written, mentions nothing\n")
	writeFile(t, root, "old-host/default.nix", hdr+"gone\n")
	old := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := os.Chtimes(filepath.Join(root, "forge/same.nix"), old, old); err != nil {
		t.Fatal(err)
	}

	files := map[string][]byte{
		"forge/same.nix":         []byte(hdr + "same\n"),
		"forge/changed.nix":      []byte(hdr + "new\n"),
		"forge/services/new.nix": []byte(hdr + "new service\n"),
	}
	c, err := Write(root, files)
	if err != nil {
		t.Fatal(err)
	}
	want := Changes{
		Create: []string{"forge/services/new.nix"},
		Update: []string{"forge/changed.nix"},
		Remove: []string{"forge/services/gone.nix", "old-host/default.nix"},
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("changes = %+v, want %+v", c, want)
	}
	got := listTree(t, root)
	wantTree := map[string]string{
		"forge/same.nix":         hdr + "same\n",
		"forge/changed.nix":      hdr + "new\n",
		"forge/services/new.nix": hdr + "new service\n",
		"forge/notes.txt":        "hand-written, mentions nothing\n",
	}
	if !reflect.DeepEqual(got, wantTree) {
		t.Errorf("tree = %v, want %v", got, wantTree)
	}
	st, err := os.Stat(filepath.Join(root, "forge/same.nix"))
	if err != nil {
		t.Fatal(err)
	}
	if !st.ModTime().Equal(old) {
		t.Errorf("unchanged file was rewritten: mtime %v, want %v", st.ModTime(), old)
	}
	if _, err := os.Stat(filepath.Join(root, "old-host")); !os.IsNotExist(err) {
		t.Errorf("emptied directory old-host still exists (err=%v)", err)
	}

	c, err = Write(root, files)
	if err != nil || !c.Empty() {
		t.Errorf("second write: changes %+v, err %v; want none", c, err)
	}
}

func TestWriteFailureLeavesTreeUntouched(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "a/default.nix", hdr+"old\n")
	writeFile(t, root, "z", "a file where a directory is needed\n")
	before := listTree(t, root)

	_, err := Write(root, map[string][]byte{
		"a/default.nix": []byte(hdr + "new\n"),
		"a/extra/x.nix": []byte(hdr + "x\n"),
		"z/c.nix":       []byte(hdr + "c\n"),
	})
	if err == nil {
		t.Fatal("Write succeeded although z is a file")
	}
	if after := listTree(t, root); !reflect.DeepEqual(after, before) {
		t.Errorf("tree changed by a failed write:\nbefore %v\nafter  %v", before, after)
	}
	if _, err := os.Stat(filepath.Join(root, "a/extra")); !os.IsNotExist(err) {
		t.Errorf("directory created by the failed write was left behind")
	}
}

func TestCompareMissingRoot(t *testing.T) {
	c, err := Compare(filepath.Join(t.TempDir(), "nope"), map[string][]byte{"h/default.nix": []byte("x")})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Stale(); !reflect.DeepEqual(got, []string{"h/default.nix"}) {
		t.Errorf("stale = %v", got)
	}
}

func TestRefusesEscapingPaths(t *testing.T) {
	for _, rel := range []string{"../x.nix", "/etc/x.nix", "a/../../x", "a//b", ""} {
		if _, err := Compare(t.TempDir(), map[string][]byte{rel: nil}); err == nil {
			t.Errorf("path %q accepted", rel)
		}
	}
}

func TestIsGenerated(t *testing.T) {
	cases := map[string]bool{
		hdr + "{ }\n": true,
		"{\n  \"_generated\": \"" + Marker + "\",\n": true,
		"{ }\n": false,
		"# hand-written\n" + string(make([]byte, 300)) + Marker: false,
	}
	keys := make([]string, 0, len(cases))
	for k := range cases {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if got := IsGenerated([]byte(k)); got != cases[k] {
			t.Errorf("IsGenerated(%.40q) = %v, want %v", k, got, cases[k])
		}
	}
}

// The manifest is JSON, so its marker is a field; render must recognise it or
// a removed host's manifest.json would be left behind.
func TestManifestCarriesMarker(t *testing.T) {
	b, err := manifest.Marshal(&manifest.Manifest{Version: manifest.Version})
	if err != nil {
		t.Fatal(err)
	}
	if !IsGenerated(b) {
		t.Errorf("manifest.Marshal output is not recognised as generated:\n%s", b)
	}
}

// Compare reads a file's content only when its size matches; these cases
// must all still be told apart from the rendered bytes, whatever the
// shortcut: same size but other bytes (at the start, the middle, the last
// byte), a prefix of the content, the content with more after it, and files
// larger than any buffer used before.
func TestCompareFindsEveryDifference(t *testing.T) {
	big := make([]byte, 1<<20)
	for i := range big {
		big[i] = byte('a' + i%26)
	}
	want := hdr + "services = { a = 1; };\n"
	flip := func(s string, i int) string { b := []byte(s); b[i] ^= 1; return string(b) }
	cases := map[string]struct {
		onDisk, rendered string
		update           bool
	}{
		"same":              {want, want, false},
		"same size, first":  {flip(want, 0), want, true},
		"same size, middle": {flip(want, len(want)/2), want, true},
		"same size, last":   {flip(want, len(want)-1), want, true},
		"prefix on disk":    {want[:len(want)-1], want, true},
		"longer on disk":    {want + "x", want, true},
		"empty on disk":     {"", want, true},
		"empty both":        {"", "", false},
		"big same":          {hdr + string(big), hdr + string(big), false},
		"big last byte":     {flip(hdr+string(big), len(hdr)+len(big)-1), hdr + string(big), true},
	}
	names := make([]string, 0, len(cases))
	for name := range cases {
		names = append(names, name)
	}
	sort.Strings(names)
	root := t.TempDir()
	files := map[string][]byte{}
	var wantUpdate []string
	for i, name := range names {
		c := cases[name]
		rel := filepath.ToSlash(filepath.Join("h", "services", string(rune('a'+i))+".nix"))
		writeFile(t, root, rel, c.onDisk)
		files[rel] = []byte(c.rendered)
		if c.update {
			wantUpdate = append(wantUpdate, rel)
		}
	}
	sort.Strings(wantUpdate)
	for range 3 { // again, with the buffers of the earlier rounds in the pool
		c, err := Compare(root, files)
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Create) != 0 || len(c.Remove) != 0 || !reflect.DeepEqual(c.Update, wantUpdate) {
			t.Errorf("changes = %+v, want updates %v", c, wantUpdate)
		}
	}
}

// A directory where a file is rendered is an error, as it was when every
// file was read whole.
func TestCompareDirectoryInTheWay(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "h", "default.nix"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Compare(root, map[string][]byte{"h/default.nix": []byte(hdr)}); err == nil {
		t.Error("Compare accepted a directory in place of h/default.nix")
	}
}

// Stale files are recognised by the marker at their start, also when they
// are large; a large hand-written file stays.
func TestCompareRemovesLargeStaleFiles(t *testing.T) {
	root := t.TempDir()
	body := string(make([]byte, 1<<20))
	writeFile(t, root, "h/services/gone.nix", hdr+body)
	writeFile(t, root, "h/notes.txt", body+hdr)
	c, err := Compare(root, map[string][]byte{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.Remove, []string{"h/services/gone.nix"}) {
		t.Errorf("remove = %v, want only the generated file", c.Remove)
	}
}
