local co = coroutine.wrap(function() while true do coroutine.yield(pcall(error, {})) end end) for i = 1, 10 do co() end
