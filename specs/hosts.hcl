# Machines and the services each one runs.

# The media and database server: service data lives on a separate "tank"
# pool, mounted below /srv.
host "forge" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
  services       = ["sonarr", "radarr", "plex", "home-assistant", "postgresql"]
}

# A small box whose only pool is the root pool.
host "luna" {
  parent_dataset = "rpool/services"
  parent_mount   = "/var/lib/services"
  services       = ["home-assistant", "radarr"]
}

# The NAS only receives replicas: no services of its own. The replication
# targets reach it as nas.lan, one of its addresses; every sender pins its
# host key, and it gets the receive user, parent datasets and permissions.
host "nas" {
  parent_dataset = "backup/nixgen"
  parent_mount   = "/srv"
  services       = []
  addresses      = ["nas.lan"]
  ssh_host_key   = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINEEBvbur6gTosD86q6AHDM+8d2to6nui9/faV8pFeF5 root@nas"
}
