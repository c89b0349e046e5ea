package rules

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"strings"
)

// sshKeyTypes are the public key algorithms OpenSSH accepts in
// known_hosts and authorized_keys lines.
var sshKeyTypes = map[string]bool{
	"ssh-ed25519": true, "ssh-rsa": true,
	"ecdsa-sha2-nistp256": true, "ecdsa-sha2-nistp384": true, "ecdsa-sha2-nistp521": true,
	"sk-ssh-ed25519@openssh.com": true, "sk-ecdsa-sha2-nistp256@openssh.com": true,
}

// SSHPublicKey checks an OpenSSH public key ("ssh-ed25519 AAAA… [comment]",
// the format of a .pub file and of ssh-keyscan) and returns it as "type
// base64", without the comment: the key ends up in known_hosts and
// authorized_keys lines, where only those two fields are safe to copy.
// The base64 part must decode to a key blob that names the same type.
func SSHPublicKey(s string) (key, problem string) {
	f := strings.Fields(s)
	if len(f) < 2 {
		return "", "is not an OpenSSH public key: expected \"<type> <base64 key> [comment]\", such as the content of /etc/ssh/ssh_host_ed25519_key.pub"
	}
	if strings.ContainsAny(s, "\n\r\x00") {
		return "", "spans more than one line; give exactly one key"
	}
	typ, b64 := f[0], f[1]
	if !sshKeyTypes[typ] {
		return "", "has the key type " + quote(typ) + ", which is not an OpenSSH public key type (ssh-ed25519, ssh-rsa, ecdsa-sha2-nistp256, ...)"
	}
	blob, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return "", "has a key part that is not valid base64"
	}
	if len(blob) < 4 {
		return "", "has a key part that is too short to be a key"
	}
	n := binary.BigEndian.Uint32(blob)
	if uint64(n) > uint64(len(blob)-4) || !bytes.Equal(blob[4:4+n], []byte(typ)) {
		return "", "has a key part that does not hold a " + typ + " key (type and key do not match, or the key was cut)"
	}
	return typ + " " + b64, ""
}

func quote(s string) string { return "\"" + strings.ReplaceAll(s, "\"", "\\\"") + "\"" }
