host "box" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
}

restic_repository "nas" {
  url           = "/mnt/nas/restic"
  password_file = "/run/secrets/restic"
}

# Runs as virtualisation.oci-containers.containers.radarr: the unit is
# podman-radarr.service or docker-radarr.service, by the backend.
service "radarr" {
  container = "radarr"
  user      = "568"
  group     = "568"
  backup { repository = "nas" }
  preseed {}
}

# A container without preseed still waits for its dataset.
service "prowlarr" {
  container = "prowlarr"
  user      = "568"
  group     = "568"
}

# A target that groups several units.
service "media" {
  unit = "media.target"
  preseed { methods = ["local"] }
}
