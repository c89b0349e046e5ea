package preseed

import (
	"fmt"

	"github.com/nixgen/nixgen/internal/rules"
)

// CheckSSHOption reports whether opt can be passed as `ssh -o opt` and
// syncoid --sshoption=opt: Name=value with a value that passes the one
// shell allow-list (rules.SSHOption), which the spec validator and
// manifest.Validate apply to ssh_key and the replication target.
func CheckSSHOption(opt string) error {
	if msg := rules.SSHOption(opt); msg != "" {
		return fmt.Errorf("ssh option %q %s", opt, msg)
	}
	return nil
}
