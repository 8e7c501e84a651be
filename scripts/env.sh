# Source this in a shell to use the project's pinned Node.js and npm (what make puts on PATH):
#   source scripts/env.sh        then `npm run ops -- ...`, `npm run token -- ...` run on .tools/node
_edulure_root=$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)
"$_edulure_root/scripts/node.sh" >/dev/null || return 1
case ":$PATH:" in
*":$_edulure_root/.tools/node/bin:"*) ;;
*) export PATH="$_edulure_root/.tools/node/bin:$PATH" ;;
esac
unset _edulure_root
