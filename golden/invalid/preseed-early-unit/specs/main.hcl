host "forge" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
}

service "git" {
  unit = "git-daemon.socket"
  preseed { methods = ["local"] }
}

service "media" {
  unit = "srv-media.mount"
  preseed { methods = ["local"] }
}

# Without a preseed a socket is fine: nothing orders it after the network.
service "chat" {
  unit = "chat.socket"
}
