-- completion.lua: `vouch completion bash|zsh|fish` prints a shell completion
-- script, and `vouch help --man` the manual page (vouch.1, made by `make`),
-- both generated from the one table of commands (stdlib/cmd/commands.lua).
local commands = require "vouch.cmd.commands"

local format, concat = string.format, table.concat

local M = {}

local function names(list, prefix)
  local out = {}
  for _, e in ipairs(list or {}) do out[#out + 1] = (prefix or "") .. (e.name or e[1]) end
  return concat(out, " ")
end

local function options(c)
  local out = {}
  for _, o in ipairs(c.options or {}) do out[#out + 1] = "--" .. o[1] end
  return concat(out, " ")
end

local function globals()
  local out = {}
  for _, o in ipairs(commands.GLOBAL) do out[#out + 1] = (#o[1] == 1 and "-" or "--") .. o[1] end
  return concat(out, " ")
end

--- Bash: _vouch offers the commands, a command's subcommands, and after a
--- dash its options and the global ones; anything else completes files.
function M.bash()
  local out = {
    "# bash completion for vouch (vouch completion bash), generated from its command table",
    "_vouch() {",
    "  local cur=${COMP_WORDS[COMP_CWORD]} cmd= sub= words= i w",
    "  for ((i = 1; i < COMP_CWORD; i++)); do",
    "    w=${COMP_WORDS[i]}",
    "    [[ $w == -* ]] && continue",
    "    if [[ -z $cmd ]]; then cmd=$w; elif [[ -z $sub ]]; then sub=$w; fi",
    "  done",
    "  case $cmd in",
    format("    '') words=%q ;;", names(commands.list)),
  }
  for _, c in ipairs(commands.list) do
    if c.sub then
      out[#out + 1] = format("    %s) case $sub in", c.name)
      for _, s in ipairs(c.sub) do out[#out + 1] = format("        %s) words=%q ;;", s.name, options(s)) end
      out[#out + 1] = format("        *) words=%q ;;", names(c.sub) .. " " .. options(c))
      out[#out + 1] = "      esac ;;"
    else
      out[#out + 1] = format("    %s) words=%q ;;", c.name, options(c))
    end
  end
  out[#out + 1] = "  esac"
  out[#out + 1] = format("  if [[ $cur == -* ]]; then words=\"$words %s\"", globals())
  out[#out + 1] = "  else words=$(printf '%s\\n' $words | grep -v '^-'); fi"
  out[#out + 1] = "  COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))"
  out[#out + 1] = "}"
  out[#out + 1] = "complete -o default -F _vouch vouch"
  return concat(out, "\n")
end

--- Zsh: the bash function, through zsh's bashcompinit.
function M.zsh()
  return "#compdef vouch\n# zsh completion for vouch (vouch completion zsh)\n" ..
         "autoload -U +X bashcompinit && bashcompinit\n" .. M.bash()
end

local function fish_quote(s) return "'" .. s:gsub("\\", "\\\\"):gsub("'", "\\'") .. "'" end

--- Fish: a `complete` line per command, subcommand and option.
function M.fish()
  local out = { "# fish completion for vouch (vouch completion fish), generated from its command table",
                "complete -c vouch -f" }
  local function opts(cond, list)
    for _, o in ipairs(list) do
      out[#out + 1] = format("complete -c vouch%s %s %s%s -d %s", cond, #o[1] == 1 and "-s" or "-l", o[1],
                             o[2] and " -r" or "", fish_quote(o[3]:match("^[^;(]*"):gsub("%s+$", "")))
    end
  end
  opts("", commands.GLOBAL)
  for _, c in ipairs(commands.list) do
    out[#out + 1] = format("complete -c vouch -n __fish_use_subcommand -a %s -d %s", c.name, fish_quote(c.summary))
    local cond = format(" -n '__fish_seen_subcommand_from %s'", c.name)
    opts(cond, c.options or {})
    for _, s in ipairs(c.sub or {}) do
      out[#out + 1] = format("complete -c vouch%s -a %s -d %s", cond, s.name, fish_quote(s.summary))
      opts(format(" -n '__fish_seen_subcommand_from %s; and __fish_seen_subcommand_from %s'", c.name, s.name),
           s.options or {})
    end
  end
  return concat(out, "\n")
end

-- roff: escape backslashes, dashes, and a line starting with . or '.
local function roff(s)
  s = s:gsub("\\", "\\e"):gsub("%-", "\\-")
  return (s:gsub("\n([.'])", "\n\\&%1"):gsub("^([.'])", "\\&%1"))
end

local function man_options(out, list)
  for _, o in ipairs(list) do
    out[#out + 1] = ".TP"
    out[#out + 1] = format("\\fB%s%s\\fR%s", #o[1] == 1 and "\\-" or "\\-\\-", roff(o[1]),
                           o[2] and (" \\fI" .. roff(o[2]) .. "\\fR") or "")
    out[#out + 1] = roff(o[3])
  end
end

local function man_command(out, c, path)
  out[#out + 1] = ".SS " .. roff(path)
  out[#out + 1] = format("\\fBvouch %s\\fR", roff(c.usage))
  out[#out + 1] = ".PP"
  out[#out + 1] = roff(c.text or (c.summary .. "."))
  man_options(out, c.options or {})
  out[#out + 1] = ".PP"
  out[#out + 1] = "Example: \\fB" .. roff(c.example) .. "\\fR"
end

--- The manual page, vouch(1), in roff.
function M.man()
  local out = {
    '.TH VOUCH 1 "" "vouch" "User Commands"',
    ".SH NAME",
    "vouch \\- a Lua 5.4 host for partnership\\-vetting rules",
    ".SH SYNOPSIS",
    "\\fBvouch\\fR [\\fIGLOBAL OPTIONS\\fR] \\fICOMMAND\\fR [\\fIARGS\\fR...]",
    ".br",
    "\\fBvouch\\fR [\\fIGLOBAL OPTIONS\\fR] \\fISCRIPT\\fR [\\fIARGS\\fR...]",
    ".br",
    "\\fBvouch\\fR [\\fIGLOBAL OPTIONS\\fR] \\fB\\-e\\fR \\fICODE\\fR",
    ".SH COMMANDS",
  }
  for _, c in ipairs(commands.list) do
    man_command(out, c, c.name)
    for _, s in ipairs(c.sub or {}) do man_command(out, s, c.name .. " " .. s.name) end
  end
  out[#out + 1] = ".SH GLOBAL OPTIONS"
  out[#out + 1] = "Taken before the command, or anywhere among a command's arguments (for run, before SCRIPT)."
  man_options(out, commands.GLOBAL)
  out[#out + 1] = ".SH EXIT STATUS"
  for _, e in ipairs(commands.EXIT) do
    out[#out + 1] = ".TP"
    out[#out + 1] = tostring(e[1])
    out[#out + 1] = roff(e[2])
  end
  out[#out + 1] = ".SH ENVIRONMENT"
  for _, e in ipairs {
    { "VOUCH_DB", "the database when no --db is given (default ./vouch.db)" },
    { "VOUCH_DEBUG", "1: tracebacks for every error, as --verbose" },
    { "NO_COLOR", "set and not empty: no colour (unless --color=always)" },
    { "COLUMNS", "the width tables fit when the output is not a terminal" },
  } do
    out[#out + 1] = ".TP"
    out[#out + 1] = "\\fB" .. roff(e[1]) .. "\\fR"
    out[#out + 1] = roff(e[2])
  end
  out[#out + 1] = ".SH SEE ALSO"
  out[#out + 1] = "\\fBvouch help\\fR \\fICOMMAND\\fR, \\fBlua\\fR(1), \\fBcrontab\\fR(5)"
  return concat(out, "\n")
end

local SHELLS = { bash = M.bash, zsh = M.zsh, fish = M.fish }

return setmetatable(M, { __call = function(_, ...)
  local opts, pos = commands.args({ ... }, "completion")
  if not opts then return pos end
  local make = SHELLS[pos[1] or ""]
  if #pos ~= 1 or not make then
    return commands.usage("completion", nil, pos[1] and #pos == 1 and
      format("unknown shell '%s' (bash, zsh or fish)", pos[1]) or "give one shell: bash, zsh or fish")
  end
  print(make())
  return 0
end })
