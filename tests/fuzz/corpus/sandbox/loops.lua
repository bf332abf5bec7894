local t = {} for i = 1, 1e9 do t[i] = tostring(i):rep(10) end
