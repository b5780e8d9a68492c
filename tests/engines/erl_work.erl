%% erl_work - Erlang/OTP (BEAM JIT, dual-mapped memfd code written through
%% the RW view, reached through erl -> erlexec -> beam.smp): CPU-bound work
%% in several hot functions, one deterministic result line, then halt(0).
-module(erl_work).
-export([main/0]).

-define(ROUNDS, 80).

fib(N) when N < 2 -> N;
fib(N) -> fib(N - 1) + fib(N - 2).

%% A linear congruential generator: the same numbers in every run.
lcg(X) -> (X * 1103515245 + 12345) band 16#7fffffff.

rand_list(0, _X, Acc) -> Acc;
rand_list(N, X, Acc) -> X1 = lcg(X), rand_list(N - 1, X1, [X1 rem 100000 | Acc]).

checksum([], Acc) -> Acc;
checksum([H | T], Acc) -> checksum(T, (Acc * 31 + H) band 16#ffffff).

count_words(Bin) ->
    Words = binary:split(Bin, [<<" ">>], [global, trim_all]),
    M = lists:foldl(fun(W, Acc) -> maps:update_with(W, fun(C) -> C + 1 end, 1, Acc) end,
                    #{}, Words),
    lists:sum([C * byte_size(W) || {W, C} <- maps:to_list(M)]).

text(Seed) ->
    L = rand_list(2000, Seed, []),
    iolist_to_binary(lists:join(<<" ">>, [integer_to_binary(X rem 997) || X <- L])).

round(I, Acc) ->
    F = fib(20),
    Sorted = lists:sort(rand_list(20000, I, [])),
    C = checksum(Sorted, 0),
    W = count_words(text(I + 7)),
    (Acc + F + C + W) band 16#fffffff.

loop(0, Acc) -> Acc;
loop(I, Acc) -> loop(I - 1, round(I, Acc)).

main() ->
    R = loop(?ROUNDS, 0),
    io:format("erl_work: rounds=~b result=~b~n", [?ROUNDS, R]),
    halt(0).
