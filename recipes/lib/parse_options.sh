# Kaldi-style options for the recipes, sourced after the defaults: `--some-name VALUE` sets
# the variable some_name (`--some-name=VALUE` too), which the recipe must already define (so a
# misspelt option is an error, not a silently ignored one); an array variable collects every occurrence
# (`--set a=1 --set b=2`); `--help` prints the script's header comment.
while [ $# -gt 0 ]; do
  case "$1" in
    --help | -h)
      sed -n '2,/^[^#]/{/^#/{s/^# \{0,1\}//;p}}' "$0"
      exit 0
      ;;
    --?*=*) set -- "${1%%=*}" "${1#*=}" "${@:2}" ;;
    --?*) ;;
    *)
      echo "$0: unexpected argument '$1' (options are --name VALUE; --help lists them)" >&2
      exit 2
      ;;
  esac
  _option_name=${1#--}
  _option_name=${_option_name//-/_}
  if [[ ! $_option_name =~ ^[a-z][a-z0-9_]*$ ]] || ! declare -p "$_option_name" >/dev/null 2>&1; then
    echo "$0: unknown option $1 (--help lists them)" >&2
    exit 2
  fi
  if [ $# -lt 2 ]; then
    echo "$0: option $1 needs a value" >&2
    exit 2
  fi
  if [[ $(declare -p "$_option_name") == "declare -a"* ]]; then
    eval "$_option_name+=(\"\$2\")"
  else
    printf -v "$_option_name" '%s' "$2"
  fi
  shift 2
done
unset _option_name
