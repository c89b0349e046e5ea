host "forge" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
}

# syncoid pastes --sshkey into sh -c unquoted: each of these would run a
# command as root.
service "photos" {
  replication {
    target  = "syncoid@nas:backup/photos"
    ssh_key = "/var/tmp/k;touch /var/tmp/PWNED;#"
  }
}

service "music" {
  replication {
    target  = "syncoid@nas:backup/music"
    ssh_key = "/run/keys/$(touch /tmp/PWNED)"
  }
}

service "books" {
  replication {
    target  = "syncoid@nas:backup/books"
    ssh_key = "/run/keys/nas key"
  }
}

service "films" {
  replication {
    target  = "syncoid@nas:backup/films"
    ssh_key = "/run/keys/`id`|sh"
  }
}
