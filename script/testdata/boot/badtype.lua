return { listen = "127.0.0.1:1", loglevel = "6" }
