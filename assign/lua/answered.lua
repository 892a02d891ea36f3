-- Answered. KEYS: unanswered chats. ARGV[6..]: chat ids. Their agents
-- answered: the first-response clock stops.
for i = 6, #ARGV do
  redis.call('ZREM', KEYS[1], ARGV[i])
end
return {'ok'}
