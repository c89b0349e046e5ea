package owner

import (
	"strings"
	"testing"
)

func TestNumericIDsNeedNoPasswdEntry(t *testing.T) {
	// 568 is the uid many container images run as; no entry names it here.
	uid, gid, err := Lookup("568", "4000000000")
	if err != nil || uid != 568 || gid != 4000000000 {
		t.Fatalf("Lookup(568, 4000000000) = %d, %d, %v", uid, gid, err)
	}
	uid, gid, err = Lookup("root", "0")
	if err != nil || uid != 0 || gid != 0 {
		t.Fatalf("Lookup(root, 0) = %d, %d, %v", uid, gid, err)
	}
}

func TestUnknownNameIsAnError(t *testing.T) {
	_, _, err := Lookup("nixgen-no-such-user", "root")
	if err == nil || !strings.Contains(err.Error(), `user "nixgen-no-such-user" does not exist`) {
		t.Fatalf("err = %v", err)
	}
	_, _, err = Lookup("root", "nixgen-no-such-group")
	if err == nil || !strings.Contains(err.Error(), `group "nixgen-no-such-group" does not exist`) {
		t.Fatalf("err = %v", err)
	}
}
