host "box" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
}

restic_repository "nas" {
  url           = "/mnt/nas/restic"
  password_file = "/run/secrets/restic"
}

restic_repository "r2" {
  url              = "s3:https://example.r2.cloudflarestorage.com/box"
  password_file    = "/run/secrets/restic-r2"
  environment_file = "/run/secrets/restic-r2.env"
  retention {
    daily  = 7
    weekly = 4
  }
}

# Critical data: the NAS and an offsite copy. Jobs vault-nas and vault-r2;
# preseed tries the NAS first, then the bucket.
service "vault" {
  backup {
    repositories = ["nas", "r2"]
    schedule     = "*-*-* 03:00:00"
  }
  preseed { methods = ["restic"] }
}

# One repository keeps the job name of the service.
service "wiki" {
  backup { repository = "nas" }
}
