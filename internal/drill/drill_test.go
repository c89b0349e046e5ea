package drill

import (
	"context"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nixgen/nixgen/internal/e2e"
	"github.com/nixgen/nixgen/internal/manifest"
	"github.com/nixgen/nixgen/internal/restic"
)

type env struct {
	m       *manifest.Manifest
	repoDir string
	data    string
	scratch string
	r       *restic.Runner
}

// newEnv makes a repository holding one backup of service "app" (4 files)
// and declares a second service "empty" in it that was never backed up.
func newEnv(t *testing.T) *env {
	t.Helper()
	e2e.Tool(t, "restic")
	dir := t.TempDir()
	pw := filepath.Join(dir, "password")
	if err := os.WriteFile(pw, []byte("pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e := &env{repoDir: filepath.Join(dir, "repo"), data: filepath.Join(dir, "srv", "app"), scratch: filepath.Join(dir, "scratch")}
	if err := os.MkdirAll(e.scratch, 0o700); err != nil {
		t.Fatal(err)
	}
	repo := manifest.Repository{URL: e.repoDir, PasswordFile: pw}
	e.m = &manifest.Manifest{
		Version: manifest.Version, Host: "nas", Parent: manifest.Parent{Dataset: "tank/s", Pool: "tank"},
		Repositories: map[string]manifest.Repository{"main": repo},
		Services: []manifest.Service{
			{Name: "app", Dataset: "tank/s/app", Mountpoint: e.data, Backup: &manifest.Backup{Repository: "main", Paths: []string{e.data}}},
			{Name: "empty", Dataset: "tank/s/empty", Mountpoint: "/srv/empty", Backup: &manifest.Backup{Repository: "main", Paths: []string{"/srv/empty"}}},
		},
	}
	for i, size := range []int{10, 1 << 20, 300 << 10, 0} {
		b := make([]byte, size)
		rand.Read(b)
		p := filepath.Join(e.data, "d"+string(rune('a'+i)), "f.bin")
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r, err := restic.New(repo)
	if err != nil {
		t.Fatal(err)
	}
	e.r = r
	ctx := context.Background()
	if err := r.Run(ctx, nil, "init"); err != nil {
		t.Fatal(err)
	}
	if err := r.Run(ctx, nil, "backup", "--host", "testhost", e.data); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) drill(t *testing.T, services ...string) ([]Result, error) {
	t.Helper()
	return Run(context.Background(), Options{Manifest: e.m, Services: services, Hostname: "testhost", ScratchDir: e.scratch})
}

func (e *env) scratchEmpty(t *testing.T) {
	t.Helper()
	if ents, _ := os.ReadDir(e.scratch); len(ents) != 0 {
		t.Errorf("scratch directories left behind: %v", ents)
	}
}

func TestDrillPassesOnGoodRepository(t *testing.T) {
	e := newEnv(t)
	res, err := e.drill(t, "app")
	if err != nil {
		t.Fatalf("%v: %+v", err, res)
	}
	if len(res) != 1 || !res[0].OK() || res[0].Files != 4 || res[0].Bytes != 10+(1<<20)+(300<<10) || res[0].Snapshot == "" {
		t.Fatalf("result %+v", res)
	}
	e.scratchEmpty(t)
}

func TestDrillFailsWithoutSnapshot(t *testing.T) {
	e := newEnv(t)
	services, err := ForRepository(e.m, "main")
	if err != nil || strings.Join(services, ",") != "app,empty" {
		t.Fatalf("services %v, err %v", services, err)
	}
	res, err := e.drill(t, services...)
	if !errors.Is(err, ErrFailed) {
		t.Fatalf("err = %v", err)
	}
	if !res[0].OK() || res[1].OK() || !strings.Contains(res[1].Error, "no snapshot") {
		t.Fatalf("results %+v", res)
	}
	// Another host's snapshots do not count.
	res, err = Run(context.Background(), Options{Manifest: e.m, Services: []string{"app"}, Hostname: "otherhost", ScratchDir: e.scratch})
	if err == nil || !strings.Contains(res[0].Error, "no snapshot") {
		t.Fatalf("other host: %v %+v", err, res)
	}
}

// packs lists the pack files of the repository.
func (e *env) packs(t *testing.T) []string {
	t.Helper()
	var packs []string
	filepath.WalkDir(filepath.Join(e.repoDir, "data"), func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			packs = append(packs, p)
		}
		return nil
	})
	if len(packs) == 0 {
		t.Fatal("no pack files")
	}
	return packs
}

func TestDrillFailsOnMissingPack(t *testing.T) {
	e := newEnv(t)
	for _, p := range e.packs(t) {
		// Drop the data packs only, so the snapshot itself still loads.
		if fi, _ := os.Stat(p); fi.Size() > 200<<10 {
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
		}
	}
	res, err := e.drill(t, "app")
	if !errors.Is(err, ErrFailed) || res[0].OK() {
		t.Fatalf("drill on a repository missing a pack: err %v, %+v", err, res)
	}
	t.Logf("failure: %s", res[0].Error)
	e.scratchEmpty(t)
}

func TestDrillFailsOnCorruptPack(t *testing.T) {
	e := newEnv(t)
	for _, p := range e.packs(t) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for i := len(b) / 4; i < len(b)/2; i++ {
			b[i] ^= 0xff
		}
		os.Chmod(p, 0o600)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	res, err := e.drill(t, "app")
	if !errors.Is(err, ErrFailed) || res[0].OK() {
		t.Fatalf("drill on a corrupt repository: err %v, %+v", err, res)
	}
	t.Logf("failure: %s", res[0].Error)
	e.scratchEmpty(t)
}

func TestDrillFailsWhenRepositoryDoesNotOpen(t *testing.T) {
	e := newEnv(t)
	if err := os.Remove(filepath.Join(e.repoDir, "config")); err != nil {
		t.Fatal(err)
	}
	res, err := e.drill(t, "app")
	if err == nil || !strings.Contains(res[0].Error, "does not open") {
		t.Fatalf("err %v, %+v", err, res)
	}
}

func TestSelection(t *testing.T) {
	m := &manifest.Manifest{
		Repositories: map[string]manifest.Repository{"main": {}, "unused": {}},
		Services:     []manifest.Service{{Name: "a", Backup: &manifest.Backup{Repository: "main"}}, {Name: "b"}},
	}
	if _, err := ForService(m, "b"); err == nil {
		t.Error("a service without backup accepted")
	}
	if _, err := ForService(m, "x"); err == nil {
		t.Error("unknown service accepted")
	}
	if _, err := ForRepository(m, "unused"); err == nil {
		t.Error("a repository nobody uses accepted")
	}
	if _, err := ForRepository(m, "x"); err == nil {
		t.Error("unknown repository accepted")
	}
	if got, err := ForService(m, "a"); err != nil || len(got) != 1 {
		t.Errorf("%v %v", got, err)
	}
}

// An offsite copy is drilled from its own repository: the drill of the
// second repository reads that repository, not the service's first.
func TestDrillOfSecondRepository(t *testing.T) {
	e := newEnv(t)
	offsite := manifest.Repository{URL: filepath.Join(t.TempDir(), "offsite"), PasswordFile: e.m.Repositories["main"].PasswordFile}
	e.m.Repositories["offsite"] = offsite
	e.m.Services[0].Backup.Repositories = []string{"main", "offsite"}
	services, err := ForRepository(e.m, "offsite")
	if err != nil || strings.Join(services, ",") != "app" {
		t.Fatalf("services %v, err %v", services, err)
	}
	drill := func() ([]Result, error) {
		return Run(context.Background(), Options{Manifest: e.m, Services: services, Repository: "offsite", Hostname: "testhost", ScratchDir: e.scratch})
	}
	// Not initialised: the drill fails on the offsite repository although
	// the first one is fine.
	res, err := drill()
	if err == nil || len(res) != 1 || res[0].Repository != "offsite" || !strings.Contains(res[0].Error, "repository offsite does not open") {
		t.Fatalf("drill of an empty offsite repository: %v %+v", err, res)
	}
	r, err := restic.New(offsite)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := r.Run(ctx, nil, "init"); err != nil {
		t.Fatal(err)
	}
	if err := r.Run(ctx, nil, "backup", "--host", "testhost", e.data); err != nil {
		t.Fatal(err)
	}
	res, err = drill()
	if err != nil || len(res) != 1 || !res[0].OK() || res[0].Repository != "offsite" || res[0].Files != 4 {
		t.Fatalf("drill of the offsite copy: %v %+v", err, res)
	}
	e.scratchEmpty(t)
}
