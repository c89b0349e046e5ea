package zfs

import (
	"context"
	"fmt"
	"strings"
)

// Delegated permissions (`zfs allow`). OpenZFS prints them only as text,
// one block per dataset that holds some, the dataset itself first and then
// its ancestors:
//
//	---- Permissions on tank/replicas -----------------------------------
//	Create time permissions:
//		destroy,mount,receive
//	Local permissions:
//		user zfs-recv create,mount,receive
//	Local+Descendent permissions:
//		group staff mount
//
// (zfs_main.c: print_fs_perms, print_set_creat_perms, print_uge_deleg_perms.)
// zfs-fuse cannot run `zfs allow` at all (it needs pyzfs).

// Perms are the permissions delegated on one dataset itself (not those
// inherited from its ancestors).
type Perms struct {
	CreateTime map[string]bool            // `zfs allow -c`
	Local      map[string]map[string]bool // "user NAME" / "group NAME" / "everyone" -> permissions valid on the dataset itself (local, and local+descendent)
	Descendent map[string]map[string]bool // ... valid below it (descendent, and local+descendent)
}

// ParseAllow reads `zfs allow DATASET` output and returns what is set on
// dataset itself; the blocks of its ancestors are skipped.
func ParseAllow(out []byte, dataset string) (*Perms, error) {
	p := &Perms{CreateTime: map[string]bool{}, Local: map[string]map[string]bool{}, Descendent: map[string]map[string]bool{}}
	mine, section := false, ""
	add := func(m map[string]map[string]bool, who string, perms []string) {
		if m[who] == nil {
			m[who] = map[string]bool{}
		}
		for _, x := range perms {
			m[who][x] = true
		}
	}
	for n, line := range strings.Split(string(out), "\n") {
		switch {
		case strings.TrimSpace(line) == "":
			continue
		case strings.HasPrefix(line, "---- Permissions on "):
			name := strings.TrimRight(strings.TrimPrefix(line, "---- Permissions on "), "-")
			mine, section = strings.TrimSpace(name) == dataset, ""
			continue
		case !strings.HasPrefix(line, "\t") && strings.HasSuffix(line, ":"):
			section = strings.TrimSuffix(line, ":")
			switch section {
			case "Permission sets", "Create time permissions", "Local permissions", "Descendent permissions", "Local+Descendent permissions":
			default:
				return nil, fmt.Errorf("zfs allow: line %d: unknown section %q", n+1, line)
			}
			continue
		case !strings.HasPrefix(line, "\t"):
			return nil, fmt.Errorf("zfs allow: line %d: unexpected %q", n+1, line)
		}
		if !mine {
			continue
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		perms := strings.Split(f[len(f)-1], ",")
		who := strings.Join(f[:len(f)-1], " ")
		switch section {
		case "Create time permissions":
			if len(f) != 1 {
				return nil, fmt.Errorf("zfs allow: line %d: create time permissions %q", n+1, line)
			}
			for _, x := range perms {
				p.CreateTime[x] = true
			}
		case "Local permissions":
			add(p.Local, who, perms)
		case "Descendent permissions":
			add(p.Descendent, who, perms)
		case "Local+Descendent permissions":
			add(p.Local, who, perms)
			add(p.Descendent, who, perms)
		case "Permission sets":
			// Named sets (@name): nixgen neither reads nor writes them.
		default:
			return nil, fmt.Errorf("zfs allow: line %d: permissions outside a section", n+1)
		}
	}
	return p, nil
}

// Allowed runs `zfs allow DATASET` and parses what is set on it.
func (r *Runner) Allowed(ctx context.Context, dataset string) (*Perms, error) {
	out, err := r.ZFSCmd(ctx, "allow", dataset)
	if err != nil {
		return nil, err
	}
	return ParseAllow(out, dataset)
}

// AllowLocal runs `zfs allow -l -u USER PERMS DATASET`: the permissions on
// the dataset itself, not on anything below it.
func (r *Runner) AllowLocal(ctx context.Context, user string, perms []string, dataset string) error {
	_, err := r.ZFSCmd(ctx, "allow", "-l", "-u", user, strings.Join(perms, ","), dataset)
	return err
}

// AllowCreate runs `zfs allow -c PERMS DATASET`: whoever creates a dataset
// below DATASET gets PERMS on it (locally).
func (r *Runner) AllowCreate(ctx context.Context, perms []string, dataset string) error {
	_, err := r.ZFSCmd(ctx, "allow", "-c", strings.Join(perms, ","), dataset)
	return err
}
