return { v = 1 }
