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
