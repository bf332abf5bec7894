for i = 1, 50 do vouch.spawn(function() vouch.sleep(i % 3) end) end print(vouch.all{function() return 1 end})
