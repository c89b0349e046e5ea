host "forge" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
}

restic_repository "nas" {
  url           = "/mnt/nas/restic"
  password_file = "/run/secrets/restic"
}

# Its backup job would be restic-backups-nixgen-check-nas, the unit of the
# repository's generated check job. `validate` used to accept this.
service "nixgen-check-nas" {
  unit   = "nas-check.service"
  backup { repository = "nas" }
}

service "nixgen-x" {}
