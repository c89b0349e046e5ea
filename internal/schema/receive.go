package schema

import (
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/nixgen/nixgen/internal/model"
)

// DefaultReceiveUser is the ssh user of a remote target that names none:
// NixOS's syncoid units run as "syncoid", and ssh logs in as the local user.
const DefaultReceiveUser = "syncoid"

// matchReceivers decides, for every remote replication target, which host
// of the specs receives it (the host part is the host's name or one of its
// addresses), fills in the receive user and the host key the sender pins,
// and reports what cannot work: an address that names two hosts, a root
// receive user, a host key given twice, keys that disagree, targets whose
// receiving side nixgen does not manage.
func matchReceivers(c *checker, raw map[string]*rawHost, hosts []*model.Host, tmpls map[string]*serviceTmpl) {
	// Every name and address names one host.
	owner := map[string]string{}
	for _, h := range hosts {
		owner[strings.ToLower(h.Name)] = h.Name
	}
	for _, h := range hosts {
		items, _ := c.list(raw[h.Name].Addresses, raw[h.Name].AddressesRange)
		seen := map[string]bool{}
		for _, a := range h.Addresses {
			rng := raw[h.Name].AddressesRange
			for _, it := range items {
				if it.s == a {
					rng = it.rng
				}
			}
			k := strings.ToLower(a)
			switch o, ok := owner[k]; {
			case seen[k]:
				c.errorf(rng, "Duplicate address", "%q is listed twice.", a)
			case ok && o != h.Name:
				c.errorf(rng, "Address of two hosts", "%q already names host %q; a replication target must name exactly one host.", a, o)
			case ok:
				c.errorf(rng, "Address is the host's name", "%q is the name of host %q already; list only other names and addresses.", a, h.Name)
			default:
				owner[k] = h.Name
			}
			seen[k] = true
		}
	}

	byName := map[string]*model.Host{}
	for _, h := range hosts {
		byName[h.Name] = h
	}
	// One host key per external machine: the sender's known_hosts entry.
	type keyAt struct {
		key string
		rng hcl.Range
	}
	external := map[string]keyAt{}
	// One warning per distinct unmanaged receiver, not one per service:
	// 50 services replicating to one NAS need the same setup done once.
	warned := map[string]bool{}
	for _, g := range hosts {
		for _, s := range g.Services {
			r := s.Replication
			if r == nil || r.TargetHost == "" {
				continue
			}
			raw := tmpls[s.Name].raw.Replication
			r.ReceiveUser = r.TargetUser
			if r.ReceiveUser == "" {
				r.ReceiveUser = DefaultReceiveUser
			}
			h := byName[owner[strings.ToLower(r.TargetHost)]]
			if h == nil {
				where := strings.ToLower(r.TargetHost)
				if prev, ok := external[where]; ok && r.KnownHostKey != "" && prev.key != "" && prev.key != r.KnownHostKey {
					c.errorf(raw.KnownHostKeyRange, "Two host keys for one target", "Another replication to %q gives a different known_host_key (at %s); a machine has one host key per type, and the sender's known_hosts can pin only one.", r.TargetHost, pos(prev.rng))
				} else if !ok || prev.key == "" {
					external[where] = keyAt{r.KnownHostKey, raw.KnownHostKeyRange}
				}
				pin := "its host key is pinned from known_host_key"
				if r.KnownHostKey == "" {
					pin = "no host key is pinned (set known_host_key to the target's public host key, from `ssh-keyscan`), so ssh, which checks host keys strictly, refuses the first connection"
				}
				if k := strings.Join([]string{where, r.ReceiveUser, parentOf(r.TargetDataset), pin}, "\x00"); !warned[k] {
					warned[k] = true
					c.warnf(raw.TargetRange, "Receiver not managed", "%q is not a host of the specs (no host has it as its name or in its addresses), so nixgen configures nothing there: create the receive user %q, the parent dataset %q and its permissions by hand (see docs/replication.md); %s.", r.TargetHost, r.ReceiveUser, parentOf(r.TargetDataset), pin)
				}
				continue
			}
			r.Receiver = h.Name
			if set(raw.KnownHostKeyRange) {
				c.errorf(raw.KnownHostKeyRange, "known_host_key for a host of the specs", "The target is host %q of the specs; its host key comes from that host's ssh_host_key. Remove known_host_key (and set ssh_host_key on host %q).", h.Name, h.Name)
			}
			r.KnownHostKey = h.SSHHostKey
			if r.ReceiveUser == "root" {
				c.errorf(raw.TargetRange, "Receive user is root", "Host %q of the specs receives this replica as root; nixgen gives the receiving side a restricted user with only the ZFS permissions syncoid needs. Name another user, such as %q.", h.Name, DefaultReceiveUser+"@"+r.TargetHost+":"+r.TargetDataset)
			}
			if h.SSHHostKey == "" {
				c.warnf(raw.TargetRange, "Receiver's host key unknown", "Host %q has no ssh_host_key, so the sender pins no host key for it and ssh, which checks host keys strictly, refuses the first connection. Set ssh_host_key on host %q (the content of its /etc/ssh/ssh_host_ed25519_key.pub).", h.Name, h.Name)
			}
			if r.SSHPublicKey == "" {
				c.warnf(raw.DefRange, "Sender's key not authorized", "Host %q authorizes keys for its receive user %q only from ssh_public_key, which this replication does not set; set it to the public half of ssh_key.", h.Name, r.ReceiveUser)
			}
		}
	}
}

// parentOf is the dataset that a target is received below.
func parentOf(dataset string) string {
	if i := strings.LastIndexByte(dataset, '/'); i > 0 {
		return dataset[:i]
	}
	return dataset
}
