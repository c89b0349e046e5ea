package restic

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestReadEnvFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "env")
	content := "# comment\n; also comment\n\nAWS_ACCESS_KEY_ID=AKIA\nexport B = 'single $HOME quoted'\nC=\"double \\\"esc\\\" \\$x\"\nD=\nE=a=b\n"
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := ReadEnvFile(p)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"AWS_ACCESS_KEY_ID=AKIA", "B=single $HOME quoted", `C=double "esc" $x`, "D=", "E=a=b"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	for _, bad := range []string{"NOEQUALS\n", "1X=2\n", "A='open\n", "A=\"open\n", "A=\"x\"y\n", "$(rm)=x\n"} {
		if err := os.WriteFile(p, []byte("OK=1\n"+bad), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := ReadEnvFile(p)
		if err == nil || !strings.Contains(err.Error(), p+":2:") {
			t.Errorf("%q: err = %v, want one naming line 2", bad, err)
		}
	}
}
